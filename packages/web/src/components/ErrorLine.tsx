import { useI18n } from '../context.js';
import { errorSentence, type ErrorInfo } from '../server-errors.js';

/**
 * A failed call: the sentence for its code in the reader's language, and the
 * server's own English message beside it (small, and as the tooltip), which
 * names what was at fault.
 */
export function ErrorLine({ error, className, role }: { error: ErrorInfo; className?: string; role?: 'alert' | 'status' }) {
  const { t } = useI18n();
  return (
    <p className={className ? `error ${className}` : 'error'} role={role} data-error={error.kind === 'server' ? error.code : error.kind} title={error.detail}>
      {t('errorMessage', { message: errorSentence(error, t) })} <small className="error-detail" lang="en">{error.detail}</small>
    </p>
  );
}
