import { useState, type ReactNode } from 'react';
import { messageOf } from '../api';
import { FormError } from './Field';
import { Modal } from './Modal';

export interface ConfirmRequest {
  title: string;
  message: ReactNode;
  /** The confirming button's text, a verb naming the action: "Delete gateway". */
  confirmLabel: string;
  /** Runs the action; a thrown error is shown in the dialog, which stays open. */
  action(): Promise<void>;
}

/** Asks before a destructive action; shows why it failed if the API refuses it. */
export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest; onClose(): void }) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    setPending(true);
    setError(null);
    try {
      await request.action();
      onClose();
    } catch (err) {
      setError(messageOf(err));
      setPending(false);
    }
  };
  return (
    <Modal title={request.title} onClose={onClose}>
      <div className="confirm-message">{request.message}</div>
      <FormError message={error} />
      <div className="form-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={confirm} disabled={pending}>
          {pending ? 'Working…' : request.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
