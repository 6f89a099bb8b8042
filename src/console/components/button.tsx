import type { ButtonHTMLAttributes } from 'preact';

/** A button that says it is working: disabled and aria-busy while `busy`, with its own text kept. */
export function Button({ busy = false, kind = 'primary', children, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; kind?: 'primary' | 'secondary' | 'danger' }) {
  return (
    <button type="button" {...rest} class={`button button-${kind}`} disabled={busy || Boolean(rest.disabled)} aria-busy={busy ? 'true' : undefined}>
      {children}
    </button>
  );
}
