// "Delete" that asks first: the button turns into "Yes, …" and "Keep it", and a refusal is shown beside them.
import { useState } from 'preact/hooks';
import { Button } from '../components/button';
import { ErrorNote } from '../components/error-note';

export function ConfirmDelete({ label, confirm, ariaLabel, onConfirm }: { label: string; confirm: string; ariaLabel: string; onConfirm(): Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  if (!asking) {
    return (
      <Button kind="secondary" onClick={() => setAsking(true)} aria-label={ariaLabel}>
        {label}
      </Button>
    );
  }
  return (
    <>
      <Button kind="danger" busy={busy} onClick={go}>
        {confirm}
      </Button>
      <Button kind="secondary" onClick={() => setAsking(false)} disabled={busy}>
        Keep it
      </Button>
      <ErrorNote error={error} />
    </>
  );
}
