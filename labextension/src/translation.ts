import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';

/** The gettext domain of every covalent-ts label. */
export const TRANSLATION_DOMAIN = 'covalent-ts';

function format(msg: string, args: unknown[]): string {
  return msg.replace(/%(\d+)/g, (m, i) => (args[Number(i) - 1] === undefined ? m : String(args[Number(i) - 1])));
}

/**
 * What JupyterLab's null translator does (English, `%1` substitution), for
 * widgets built without an application translator: unit tests and renderers
 * outside a notebook. Kept local so those do not load the services stack.
 */
const englishBundle: TranslationBundle = {
  __: (msgid: string, ...args: any[]) => format(msgid, args),
  _n: (msgid: string, msgid_plural: string, n: number, ...args: any[]) => format(n === 1 ? msgid : msgid_plural, [n, ...args]),
  _p: (_ctx: string, msgid: string, ...args: any[]) => format(msgid, args),
  _np: (_ctx: string, msgid: string, msgid_plural: string, n: number, ...args: any[]) =>
    format(n === 1 ? msgid : msgid_plural, [n, ...args]),
  gettext: (msgid: string, ...args: any[]) => format(msgid, args),
  ngettext: (msgid: string, msgid_plural: string, n: number, ...args: any[]) =>
    format(n === 1 ? msgid : msgid_plural, [n, ...args]),
  pgettext: (_ctx: string, msgid: string, ...args: any[]) => format(msgid, args),
  npgettext: (_ctx: string, msgid: string, msgid_plural: string, n: number, ...args: any[]) =>
    format(n === 1 ? msgid : msgid_plural, [n, ...args]),
  dcnpgettext: (_d: string, _ctx: string, msgid: string, msgid_plural: string, n: number, ...args: any[]) =>
    format(n === 1 ? msgid : msgid_plural, [n, ...args])
};

/** The covalent-ts bundle of `translator`, or English when there is none. */
export function loadBundle(translator?: ITranslator | null): TranslationBundle {
  return translator ? translator.load(TRANSLATION_DOMAIN) : englishBundle;
}
