import { keepPreviousData } from '@tanstack/react-query';
import type { Ref } from 'react';
import type { FolderCheckResult } from '../../../../shared/contract';
import { Field } from '../../components/ui';
import { bridge } from '../../lib/bridge';
import { useRequest } from '../../lib/query';
import { useDebounced } from '../../lib/useDebounced';

/** The live `folder:check` of a typed path (debounced), for feedback while typing. */
export function usePathCheck(path: string): FolderCheckResult | undefined {
  const debounced = useDebounced(path.trim(), 300);
  const check = useRequest(
    'folder:check',
    { path: debounced },
    { enabled: debounced !== '', placeholderData: keepPreviousData },
  );
  return debounced === '' ? undefined : check.data;
}

/**
 * A folder path typed (or, in the desktop app, chosen with the OS picker) and checked as it is typed:
 * the help line says what Ferry found there, the error line what is wrong.
 */
export function PathField({
  label,
  help,
  value,
  onChange,
  check,
  error,
  inputRef,
}: {
  label: string;
  help: string;
  value: string;
  onChange: (path: string) => void;
  check: FolderCheckResult | undefined;
  error: string | undefined;
  inputRef?: Ref<HTMLInputElement>;
}) {
  const found = check?.ok && value.trim() !== '' ? `✓ ${check.resolved}: ${check.message}` : undefined;
  return (
    <Field label={label} help={found ?? help} error={error}>
      {(p) => (
        <div className="row row--nowrap">
          <input
            {...p}
            ref={inputRef}
            type="text"
            value={value}
            onChange={(e) => onChange(e.target.value)}
            spellCheck={false}
            autoComplete="off"
          />
          {/* The desktop app's native picker; a browser types the path. */}
          {bridge?.pickFolder && (
            <button
              type="button"
              className="btn"
              onClick={() => void bridge?.pickFolder?.().then((picked) => picked && onChange(picked))}
            >
              Choose…
            </button>
          )}
        </div>
      )}
    </Field>
  );
}
