import { useI18n } from '../context.js';
import { LANGS, LANG_NAMES, isLang } from '../i18n.js';

export function LangSwitcher() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang">
      <select aria-label={t('language')} name="language" value={lang} onChange={(e) => isLang(e.target.value) && setLang(e.target.value)}>
        {LANGS.map((l) => <option key={l} value={l}>{LANG_NAMES[l]}</option>)}
      </select>
    </label>
  );
}
