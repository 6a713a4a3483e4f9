import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';

/** Says a change was saved: a short status line at the bottom of the page, read out by screen readers. */
type Notify = (message: string) => void;

const ToastContext = createContext<Notify>(() => {});

/** How long a confirmation stays: long enough to read, short enough not to pile up. */
const SHOWN_MS = 5000;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toast, setToast] = useState<{ id: number; message: string } | null>(null);
  useEffect(() => {
    if (!toast) return;
    const timer = window.setTimeout(() => setToast(null), SHOWN_MS);
    return () => window.clearTimeout(timer);
  }, [toast]);
  const notify = useCallback<Notify>((message) => setToast((previous) => ({ id: (previous?.id ?? 0) + 1, message })), []);
  return (
    <ToastContext.Provider value={notify}>
      {children}
      {/* Always in the page, so assistive technology announces what appears in it. */}
      <div className="toast-region" role="status" aria-live="polite">
        {toast ? (
          <div className="toast" key={toast.id}>
            <span>{toast.message}</span>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setToast(null)}>
              ×
            </button>
          </div>
        ) : null}
      </div>
    </ToastContext.Provider>
  );
}

/** `notify('Limit saved.')` after a change succeeded. */
export const useNotify = (): Notify => useContext(ToastContext);
