import type { ContentFormat } from '../../domain/types';
import type { CallContext } from '../rate-info';

export interface GenerateTextInput {
  topic: string;
  brief?: string;
  voice?: string;
  audience?: string;
  format: ContentFormat;
}

/** The exact prompt an AI provider gets: also what the response cache is keyed by. */
export interface TextPrompt {
  system: string;
  user: string;
  maxTokens: number;
  temperature: number;
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
  /** The model used, for the cache key and the state. */
  readonly model: string;
  generate(input: GenerateTextInput, ctx?: CallContext): Promise<GeneratedText>;
}
