/**
 * Text that a provider wrote, made safe for PostgreSQL and for every platform: NUL characters (which text and jsonb
 * refuse) are dropped and unpaired UTF-16 surrogates (which jsonb refuses) become U+FFFD. The API refuses such input
 * from people with a 400; a provider's answer cannot be sent back, so it is cleaned instead of failing the pipeline.
 */
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
const LONE_SURROGATE = /\p{Cs}/gu;

export function storableText(s: string): string {
  return s.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}
