import { useEffect, useState } from 'preact/hooks';
import { formatLocal } from '../time';

function left(ms: number): string {
  if (ms <= 0) return 'any moment now';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `in ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `in ${h} h ${m % 60} min` : `in ${Math.floor(h / 24)} days`;
}

/** Time left until `to`, ticking every second, with the moment itself in the user's zone. */
export function Countdown({ to, testId }: { to: string; testId?: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return (
    <time dateTime={to} title={formatLocal(to)} data-testid={testId}>
      {left(new Date(to).getTime() - now)}
    </time>
  );
}
