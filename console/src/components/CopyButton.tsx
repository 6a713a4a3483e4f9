import { useEffect, useState } from 'react';

/** Copies a value to the clipboard (with a fallback where the Clipboard API is unavailable, e.g. plain http). */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  useEffect(() => {
    if (copied === null) return;
    const timer = window.setTimeout(() => setCopied(null), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(copyWithSelection(value));
    }
  };
  return (
    <button type="button" onClick={copy} aria-label={label}>
      {copied === true ? 'Copied' : copied === false ? 'Copy failed' : 'Copy'}
    </button>
  );
}

function copyWithSelection(value: string): boolean {
  const area = document.createElement('textarea');
  area.value = value;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    // Deprecated, but the only way to copy from an insecure (http) page.
    return document.execCommand('copy');
  } finally {
    area.remove();
  }
}
