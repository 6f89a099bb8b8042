import { ConfigError, loadConfig } from '../../../src/config';

function problem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it.each([
    [{ PORT: 'abc' }, /PORT/],
    [{ RATE_LIMIT_OPENAI: 'lots' }, /RATE_LIMIT_OPENAI/],
    [{ RATE_LIMIT_ANTHROPIC_TOKENS: '10/fortnight' }, /RATE_LIMIT_ANTHROPIC_TOKENS/],
    [{ CIRCUIT_BREAKER: 'five' }, /CIRCUIT_BREAKER/],
    [{ CIRCUIT_BREAKER_GEMINI: '3' }, /CIRCUIT_BREAKER_GEMINI/],
    [{ TEXT_PROVIDERS: 'openai,skynet' }, /TEXT_PROVIDERS: unknown provider "skynet"/],
    [{ TEXT_PROVIDERS: 'anthropic' }, /TEXT_PROVIDERS: anthropic is listed but ANTHROPIC_API_KEY is not set/],
    [{ IMAGE_SOURCES: 'pexels' }, /IMAGE_SOURCES: pexels is listed/],
    [{ TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' }, /TOKEN_ENCRYPTION_KEY must be 32 bytes/],
    [{ AI_CACHE_TTL: 'forever' }, /AI_CACHE_TTL/],
    [{ API_KEYS: 'no-colon' }, /API_KEYS/],
    [{ OPENAI_BASE_URL: 'not a url' }, /OPENAI_BASE_URL/],
  ])('a bad value stops start-up naming the variable: %j', (env, message) => {
    expect(problem(env)).toMatch(message);
  });

  it('chains the configured text providers in contract order with offline last, and card last for images', () => {
    const c = loadConfig({ GEMINI_API_KEY: 'g', OPENAI_API_KEY: 'o', PEXELS_API_KEY: 'p' });
    expect(c.ai.textChain).toEqual(['openai', 'gemini', 'offline']);
    expect(c.ai.imageChain).toEqual(['openai', 'pexels', 'card']);
    expect(loadConfig({}).ai.textChain).toEqual(['offline']);
    expect(loadConfig({ UNSPLASH_ACCESS_KEY: 'u', IMAGE_SOURCES: 'card,unsplash' }).ai.imageChain).toEqual(['unsplash', 'card']);
  });

  it('reads several rate-limit windows and breaker settings per provider', () => {
    const c = loadConfig({ RATE_LIMIT_OPENAI: '60/1m,1000/1d', RATE_LIMIT_OPENAI_TOKENS: '30000/1m', CIRCUIT_BREAKER_OPENAI: '3/30s' });
    expect(c.resilience.limits.openai.requests).toEqual([
      { count: 60, windowMs: 60_000 },
      { count: 1000, windowMs: 86_400_000 },
    ]);
    expect(c.resilience.limits.openai.tokens).toEqual([{ count: 30000, windowMs: 60_000 }]);
    expect(c.resilience.breakers.openai).toMatchObject({ failures: 3, cooldownMs: 30_000 });
    expect(c.resilience.defaultBreaker).toMatchObject({ failures: 5, cooldownMs: 60_000 });
  });
});
