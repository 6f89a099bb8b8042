import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** One page: its single <h1>, focused on arrival so a screen reader and the keyboard start at the new page. */
export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Herald`;
    heading.current?.focus();
  }, [title]);
  return (
    <section class="page">
      <header class="page-header">
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions ? <div class="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
