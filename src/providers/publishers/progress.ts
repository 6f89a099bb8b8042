// The progress of one publication across attempts: what is already posted or uploaded, so a retry resumes and never
// posts a part twice.
import type { PublishContext, PublishProgress } from './types';

export type PartProgress = PublishProgress['parts'][number];

/**
 * The accumulated progress of one publication: what earlier attempts achieved (ctx.progress) plus what this attempt
 * adds. Every addition is announced to ctx.onProgress at once, before the next request goes out.
 */
export class ProgressTracker {
  private readonly parts = new Map<number, PartProgress>();
  private readonly media: Record<string, string>;
  private readonly container: PublishProgress['container'];

  constructor(private readonly ctx: PublishContext = {}) {
    for (const p of ctx.progress?.parts ?? []) this.parts.set(p.index, { ...p, extra: p.extra ? { ...p.extra } : undefined });
    this.media = { ...(ctx.progress?.media ?? {}) };
    this.container = ctx.progress?.container ? { ...ctx.progress.container } : undefined;
  }

  part(index: number): PartProgress | undefined {
    return this.parts.get(index);
  }

  mediaOf(imageId: string): string | undefined {
    return this.media[imageId];
  }

  addPart(part: PartProgress): void {
    this.parts.set(part.index, part);
    this.announce();
  }

  addMedia(imageId: string, value: string): void {
    this.media[imageId] = value;
    this.announce();
  }

  snapshot(): PublishProgress {
    const out: PublishProgress = {
      parts: [...this.parts.values()]
        .sort((a, b) => a.index - b.index)
        .map((p) => {
          const copy: PartProgress = { index: p.index, id: p.id, url: p.url };
          if (p.extra) copy.extra = { ...p.extra };
          return copy;
        }),
    };
    if (Object.keys(this.media).length > 0) out.media = { ...this.media };
    if (this.container) out.container = { ...this.container };
    return out;
  }

  private announce(): void {
    this.ctx.onProgress?.(this.snapshot());
  }
}
