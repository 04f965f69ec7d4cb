import type { DestinationConfig, FerryConfig, FolderConfig, RuleConfig } from '../../../../shared/config';

/**
 * The first-run flow's answers turned into a configuration: one folder, one local destination and a
 * rule that ships everything from one to the other. No React here: see test/unit/renderer/welcomeConfig.test.ts.
 */
export type WelcomeAnswers = {
  /** Absolute paths, as `folder:check` resolved them. */
  folderPath: string;
  destinationPath: string;
  ruleName: string;
  mode: 'backup' | 'mirror';
};

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The last segment of a path, whichever separator the OS uses (`/home/me/Work/` → "Work"). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? '';
}

/** A config id from a folder's name: lower case, other characters become "-" ("My Photos" → "my-photos"). */
export function idFrom(path: string, fallback: string): string {
  const id = baseName(path)
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '') // "Été" → "Ete"
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return ID.test(id) ? id : fallback;
}

/** The rule's suggested name: "Back up Work". */
export function defaultRuleName(folderPath: string): string {
  return `Back up ${baseName(folderPath) || 'my folder'}`.slice(0, 120);
}

function normalized(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/\/+$/, '');
  // Windows drive letters and paths compare without regard to case.
  return /^[A-Za-z]:/.test(p) ? p.toLowerCase() : p;
}

/**
 * Why a destination folder cannot go with the folder, or undefined: the same folder, or one inside
 * the other (the backup would ship itself, or be watched as a change of the folder).
 */
export function nestingProblem(folderPath: string, destinationPath: string): string | undefined {
  const a = normalized(folderPath);
  const b = normalized(destinationPath);
  if (a === b) return 'this is the folder you are backing up: pick another place, such as an external disk';
  if (b.startsWith(`${a}/`)) return 'this is inside the folder you are backing up: pick a place outside it';
  if (a.startsWith(`${b}/`)) return 'the folder you are backing up is inside this one: pick a place outside it';
  return undefined;
}

/** The whole new configuration: the current one (settings kept) with the flow's folder, destination and rule. */
export function welcomeConfig(current: FerryConfig, answers: WelcomeAnswers): FerryConfig {
  const folder: FolderConfig = {
    id: idFrom(answers.folderPath, 'folder'),
    path: answers.folderPath,
    ignore: [],
    paused: false,
    watch: 'auto',
  };
  const destination: DestinationConfig = {
    id: idFrom(answers.destinationPath, 'backup'),
    type: 'local',
    path: answers.destinationPath,
  };
  const rule: RuleConfig = {
    name: answers.ruleName.trim() || defaultRuleName(answers.folderPath),
    from: [folder.id],
    match: ['**'],
    exclude: [],
    stop: false,
    to: [destination.id],
    path: '{path}',
    mode: answers.mode,
    tags: [],
    hooks: [],
    remote_exclude: [],
  };
  return {
    ...current,
    folders: [...current.folders, folder],
    destinations: [...current.destinations, destination],
    rules: [...current.rules, rule],
  };
}

/** The first run: nothing to sync yet, so the window welcomes instead of reporting an empty status. */
export function isFirstRun(config: Pick<FerryConfig, 'folders' | 'destinations'> | undefined): boolean {
  return config !== undefined && config.folders.length === 0 && config.destinations.length === 0;
}
