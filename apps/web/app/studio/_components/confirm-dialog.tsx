'use client';

import { type ReactNode, useEffect, useId, useRef } from 'react';

/**
 * Asks before a change that cannot be undone. A native modal `<dialog>` (showModal): the rest of
 * the page is inert while it is open and Escape cancels. Focus starts on Cancel, the choice that
 * changes nothing, and goes back to the control that opened the dialog when it closes (done here:
 * the dialog's content unmounts as it closes, which leaves Chromium's own return of focus nowhere).
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      dialog.showModal();
      cancel.current?.focus();
    }
    if (!open && dialog.open) {
      dialog.close();
      opener.current?.focus();
      opener.current = null;
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      role="alertdialog"
      aria-labelledby={titleId}
      aria-describedby={children ? bodyId : undefined}
      onCancel={(event) => {
        // Escape: closed by the parent's state, like the Cancel button.
        event.preventDefault();
        onCancel();
      }}
    >
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          {children && <div id={bodyId}>{children}</div>}
          <div className="actions">
            <button type="button" ref={cancel} onClick={onCancel}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={onConfirm}>
              {confirmLabel}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}
