// What the approval panel decides without the API: the text a reviewer edits, where an API refusal belongs, and the
// count of a platform's own text as it is typed. Pure, for the panel and its unit tests.
import { countFor, PLATFORM_RULES } from '../../domain/platform-rules';
import type { Platform } from '../../domain/types';

/** A thread's parts as one text to edit: the numbering Herald adds ("2/5 ") taken off, parts on their own paragraphs. */
export function editableText(parts: string[]): string {
  if (parts.length === 1) return parts[0];
  return parts.map((p, i) => p.replace(new RegExp(`^${i + 1}/${parts.length} `), '')).join('\n\n');
}

/** Where a reason of the API's 422 belongs: "x: 312 weighted characters, limit 280" goes next to X's text. */
export function placeReason(reason: string, edited: { platforms: string[]; body: boolean }): string {
  const head = reason.slice(0, Math.max(0, reason.indexOf(':')));
  if (head === 'title' || head === 'body') return head;
  if (head && edited.platforms.includes(head)) return `variants.${head}`;
  return edited.body ? 'body' : 'form';
}

/** The local count of a platform's own text against its limit, before the API is asked. */
export function localCheck(platform: Platform, text: string, limit: number, thread: boolean): { count: number; problem: string | null } {
  const count = countFor(platform, text.trim());
  if (count <= limit || thread) return { count, problem: null };
  return { count, problem: `${platform}: ${count} ${PLATFORM_RULES[platform].unit}, limit ${limit}: ${count - limit} too many` };
}
