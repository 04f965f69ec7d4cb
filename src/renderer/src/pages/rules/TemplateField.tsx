import { useRef } from 'react';
import { TEMPLATE_FIELDS } from '../../../../shared/config';
import { Field } from '../../components/ui';

const MEANING: Record<(typeof TEMPLATE_FIELDS)[number], string> = {
  path: 'the path inside the folder',
  dir: 'its folders',
  name: 'the file name',
  stem: 'the name without extension',
  ext: 'the extension',
  yyyy: 'year modified (UTC)',
  mm: 'month modified',
  dd: 'day modified',
  folder: 'the folder id',
  rule: 'the rule name',
};

/**
 * The destination path template, with each placeholder one click (or keypress) away. The placeholder
 * buttons are named by their text alone: no other control in the form may have a label containing
 * "name" or "path template" (the end-to-end test finds the fields by those labels).
 */
export function TemplateField({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (next: string) => void;
  error: string | undefined;
}) {
  const input = useRef<HTMLInputElement>(null);
  const insert = (field: string) => {
    const el = input.current;
    const token = `{${field}}`;
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    onChange(value.slice(0, start) + token + value.slice(end));
    // Back to the input, the caret after the placeholder, once React has written the new value.
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + token.length, start + token.length);
    });
  };
  return (
    <Field
      label="Path template"
      error={error}
      help={
        <>
          Where each file lands inside the destination. Empty means <code>{'{path}'}</code>: the same path as in the
          folder. It must name the file with <code>{'{path}'}</code>, <code>{'{name}'}</code> or <code>{'{stem}'}</code>
          .
        </>
      }
    >
      {(p) => (
        <>
          <input
            {...p}
            ref={input}
            type="text"
            className="mono"
            value={value}
            placeholder="{path}"
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => onChange(e.target.value)}
          />
          <div className="rule-template-tokens" role="group" aria-label="Insert a placeholder">
            {TEMPLATE_FIELDS.map((f) => (
              <button
                key={f}
                type="button"
                className="rule-template-token"
                title={MEANING[f]}
                onClick={() => insert(f)}
              >
                {`{${f}}`}
              </button>
            ))}
          </div>
        </>
      )}
    </Field>
  );
}
