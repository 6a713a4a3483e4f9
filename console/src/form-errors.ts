import { ApiError, messageOf } from './api';

/** Errors of one form: by field (shown next to it) and for the whole form. */
export interface FormErrors {
  fields: Partial<Record<string, string>>;
  form: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, form: null };

/**
 * Places an API error next to the field it names (`error.param`, or the field a conflict code is
 * about when the API names none); anything else becomes a form-level message.
 */
export function formErrorsOf(err: unknown, fields: readonly string[], fieldOfCode: Partial<Record<string, string>> = {}): FormErrors {
  if (err instanceof ApiError) {
    const named = err.param ?? fieldNamedFirst(err.message, fields);
    const field = (named !== null && fieldOf(named, fields)) || fieldOfCode[err.code];
    if (field && fields.includes(field)) return { fields: { [field]: withoutFieldPrefix(err.message, named) }, form: null };
  }
  return { fields: {}, form: messageOf(err) };
}

/**
 * Some checks answer without a param but start with the field's name ("upstreamApiKey is required
 * for provider openai"): place those next to the field too.
 */
function fieldNamedFirst(message: string, fields: readonly string[]): string | null {
  const first = /^([A-Za-z][\w.]*)(?::| is | must )/.exec(message)?.[1];
  return first !== undefined && fields.includes(first) ? first : null;
}

/** "instance.name" → "instance.name" if the form has it, else its first part ("instance"). */
function fieldOf(param: string, fields: readonly string[]): string | undefined {
  if (fields.includes(param)) return param;
  const head = param.split('.')[0] ?? param;
  return fields.includes(head) ? head : undefined;
}

/** The API prefixes messages with the field ("name: must be ..."); next to the field that is noise. */
function withoutFieldPrefix(message: string, param: string | null): string {
  if (!param || !message.startsWith(`${param}: `)) return message;
  const text = message.slice(param.length + 2);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
