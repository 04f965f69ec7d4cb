import type { ConditionKind, GroupOp, LeafKind, RangeKind, TextKind } from './conditionDraft';

/** What the conditions editor says about each kind: its name in menus, its inputs' labels and help. */
export const KIND_LABEL: Record<ConditionKind, string> = {
  glob: 'Path glob',
  ext: 'Extension',
  regex: 'Regular expression',
  size: 'Size',
  modified: 'Modified date',
  age: 'Age',
  type: 'Content type',
  all: 'Group: all of',
  any: 'Group: any of',
  not: 'Group: not',
};

export const GROUP_LABEL: Record<GroupOp, string> = {
  all: 'All of these hold',
  any: 'Any of these holds',
  not: 'This does not hold',
};

export const TEXT_INPUT: Record<TextKind, { label: string; placeholder: string; help: string; multiline?: boolean }> = {
  glob: {
    label: 'Globs',
    placeholder: 'reports/**/*.csv',
    help: 'On the path inside the folder, one per line: any of them. ** crosses folders.',
    multiline: true,
  },
  ext: {
    label: 'Extensions',
    placeholder: 'jpg, jpeg, heic',
    help: 'Any case, separated by commas; tar.gz works too.',
  },
  regex: {
    label: 'Regular expression',
    placeholder: '^invoices/\\d{4}-\\d{2}/',
    help: 'RE2 syntax on the path inside the folder (no lookaround or backreferences).',
  },
  type: {
    label: 'Content types',
    placeholder: 'image/*, application/pdf',
    help: 'Sniffed from the first bytes of the file, not from its name. Separate several with commas.',
  },
};

export const RANGE_INPUT: Record<RangeKind, { lo: string; hi: string; loHint: string; hiHint: string; help: string }> =
  {
    size: {
      lo: 'At least',
      hi: 'At most',
      loHint: '1KB',
      hiHint: '10MB',
      help: 'Bytes, or with a unit of 1024: 500, 10KB, 1.5MB, 2GB. Both ends included.',
    },
    modified: {
      lo: 'On or after',
      hi: 'Before',
      loHint: '2024-01-01',
      hiHint: '2024-12-31',
      help: 'Modification date in UTC; "before" is exclusive.',
    },
    age: {
      lo: 'At least',
      hi: 'At most',
      loHint: '7d',
      hiHint: '1y',
      help: 'Time since the file was last modified: 90m, 12h, 7d, 2w, 1y.',
    },
  };

export const LEAF_ORDER: readonly LeafKind[] = ['glob', 'ext', 'type', 'size', 'modified', 'age', 'regex'];
export const ADD_ORDER: readonly ConditionKind[] = [...LEAF_ORDER, 'all', 'any', 'not'];
