import { useId } from 'react';
import { CopyButton } from './CopyButton';

/** A secret shown once: readonly, selectable, with a copy button. */
export function SecretValue({ label, value }: { label: string; value: string }) {
  const id = useId();
  return (
    <div className="field secret">
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input id={id} readOnly value={value} spellCheck={false} onFocus={(event) => event.currentTarget.select()} />
        <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
      </div>
    </div>
  );
}
