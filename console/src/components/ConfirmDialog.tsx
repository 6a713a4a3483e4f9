import { useState, type ReactNode } from 'react';
import { ApiError, messageOf } from '../api';
import { FormError } from './Field';
import { Modal } from './Modal';

export interface ConfirmRequest {
  title: string;
  message: ReactNode;
  /** The confirming button's text, a verb naming the action: "Delete gateway". */
  confirmLabel: string;
  /** Runs the action; a thrown error is shown in the dialog, which stays open. */
  action(): Promise<void>;
  /**
   * A way out when the action is refused with this error code, offered in the dialog instead of
   * a dead end: e.g. "Disable all projects and delete" when a gateway still has enabled projects.
   */
  fallback?: {
    code: string;
    label: string;
    /** What to say instead of the API's message (which speaks to API and CLI users). */
    explain?(message: string): ReactNode;
    action(): Promise<void>;
  };
}

/** Asks before a destructive action; shows why it failed if the API refuses it. */
export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest; onClose(): void }) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [offerFallback, setOfferFallback] = useState(false);
  const fallback = offerFallback ? request.fallback : undefined;
  const run = async (action: () => Promise<void>) => {
    setPending(true);
    setError(null);
    try {
      await action();
      onClose();
    } catch (err) {
      setError(messageOf(err));
      setOfferFallback(request.fallback !== undefined && err instanceof ApiError && err.code === request.fallback.code);
      setPending(false);
    }
  };
  return (
    <Modal title={request.title} onClose={onClose}>
      <div className="confirm-message">{request.message}</div>
      {fallback?.explain && error ? (
        <div className="warning" role="alert">
          {fallback.explain(error)}
        </div>
      ) : (
        <FormError message={error} />
      )}
      <div className="form-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        {fallback ? (
          <button type="button" className="danger" onClick={() => run(fallback.action)} disabled={pending}>
            {pending ? 'Working…' : fallback.label}
          </button>
        ) : (
          <button type="button" className="danger" onClick={() => run(request.action)} disabled={pending}>
            {pending ? 'Working…' : request.confirmLabel}
          </button>
        )}
      </div>
    </Modal>
  );
}
