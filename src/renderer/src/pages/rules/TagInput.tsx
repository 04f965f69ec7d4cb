import { useRef } from 'react';
import { splitTags } from './ruleModel';

/**
 * Tags as chips: a comma or Enter makes a chip of what was typed, Backspace in the empty input takes
 * the last chip back for editing. Text not made a chip yet still counts (the form model reads it).
 */
export function TagInput({
  inputProps,
  tags,
  text,
  onChange,
}: {
  inputProps: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean };
  tags: readonly string[];
  text: string;
  onChange: (tags: string[], text: string) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const add = (more: string[], rest: string) => onChange([...new Set([...tags, ...more])], rest);
  const commit = () => {
    if (text.trim()) add(splitTags(text), '');
  };
  return (
    <div
      className={`rule-tags${inputProps['aria-invalid'] ? ' rule-tags--invalid' : ''}`}
      onClick={(e) => {
        if (e.target === e.currentTarget) input.current?.focus();
      }}
    >
      {tags.length > 0 && (
        <ul className="rule-tags__chips">
          {tags.map((t) => (
            <li key={t} className="rule-tag">
              <span className="rule-tag__text">{t}</span>
              <button
                type="button"
                className="rule-tag__remove"
                aria-label={`Remove tag ${t}`}
                onClick={() => {
                  onChange(
                    tags.filter((x) => x !== t),
                    text,
                  );
                  input.current?.focus();
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <input
        {...inputProps}
        ref={input}
        type="text"
        className="rule-tags__field"
        value={text}
        placeholder={tags.length === 0 ? 'finance, invoice' : 'Add a tag'}
        autoComplete="off"
        onChange={(e) => {
          const parts = e.target.value.split(',');
          // Everything before the last comma is finished: chips; the rest is still being typed.
          if (parts.length > 1) add(splitTags(parts.slice(0, -1).join(',')), parts.at(-1) ?? '');
          else onChange([...tags], e.target.value);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text.trim()) {
            e.preventDefault();
            commit();
          } else if (e.key === 'Backspace' && text === '' && tags.length > 0) {
            e.preventDefault();
            onChange(tags.slice(0, -1), tags.at(-1) ?? '');
          }
        }}
        onBlur={commit}
      />
    </div>
  );
}
