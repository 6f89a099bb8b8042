import type { ContentFormat } from '../../domain/types';

export interface GenerateTextInput {
  topic: string;
  brief?: string;
  voice?: string;
  audience?: string;
  format: ContentFormat;
}

export interface GeneratedText {
  title: string;
  body: string;
  hashtags: string[];
  provider: string;
  model: string;
  usage?: { inputTokens: number; outputTokens: number; totalTokens: number };
}

/** Anything that writes the title, body and hashtags of a piece. */
export interface TextGenerator {
  readonly name: string;
  generate(input: GenerateTextInput): Promise<GeneratedText>;
}
