import { cloneElement, type ComponentChildren, type VNode } from 'preact';
import type { FieldProblem } from '../api';

/**
 * A labelled control with its help text and the problems found in it. The control (the only child) gets the id, and
 * aria-describedby / aria-invalid pointing at the help and the problems, so a screen reader reads them with the field.
 */
export function Field({ id, label, help, problems = [], children }: { id: string; label: ComponentChildren; help?: ComponentChildren; problems?: FieldProblem[]; children: VNode<any> }) {
  const described = [help ? `${id}-help` : '', problems.length ? `${id}-problems` : ''].filter(Boolean).join(' ');
  const control = cloneElement(children, { id, 'aria-describedby': described || undefined, 'aria-invalid': problems.length ? 'true' : undefined });
  return (
    <div class={problems.length ? 'field field-invalid' : 'field'}>
      <label for={id}>{label}</label>
      {control}
      {help ? (
        <p class="field-help" id={`${id}-help`}>
          {help}
        </p>
      ) : null}
      <Problems id={`${id}-problems`} problems={problems} />
    </div>
  );
}

/** Problems of one field; each carries data-testid="problem-<path>" so tests find it by the field it concerns. */
export function Problems({ id, problems }: { id?: string; problems: FieldProblem[] }) {
  if (!problems.length) return null;
  return (
    <ul class="problems" id={id} role="alert">
      {problems.map((p, i) => (
        <li key={`${p.path}-${i}`} data-testid={`problem-${p.path}`}>
          <span class="problem-message">{p.message}</span>
          {p.hint ? <span class="problem-hint"> {p.hint}</span> : null}
        </li>
      ))}
    </ul>
  );
}
