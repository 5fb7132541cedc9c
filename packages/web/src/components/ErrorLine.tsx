import { useI18n } from '../context.js';
import { errorSentence, type ErrorInfo } from '../server-errors.js';

/**
 * A failed call: the sentence for its code in the reader's language, and the
 * server's own English message beside it (small, and as the tooltip), which
 * names what was at fault. `sentence`: the panel's own, where it knows
 * better what the code means there (a refused query).
 */
export function ErrorLine({ error, className, role, sentence }: { error: ErrorInfo; className?: string; role?: 'alert' | 'status'; sentence?: string }) {
  const { t } = useI18n();
  return (
    <p className={className ? `error ${className}` : 'error'} role={role} data-error={error.kind === 'server' ? error.code : error.kind} title={error.detail}>
      {t('errorMessage', { message: sentence ?? errorSentence(error, t) })} <small className="error-detail" lang="en">{error.detail}</small>
    </p>
  );
}
