/** Small line icons drawn with the text colour (emoji fonts are missing on many Linux desktops). */
const base = {
  width: 16,
  height: 16,
  viewBox: '0 0 16 16',
  fill: 'none',
  stroke: 'currentColor',
  strokeWidth: 1.4,
  strokeLinejoin: 'round' as const,
  'aria-hidden': true,
  focusable: false,
  className: 'dest-icon',
};

export function FolderIcon(): React.JSX.Element {
  return (
    <svg {...base}>
      <path d="M1.7 3.5h4.4l1.5 1.6h6.7v7.9H1.7z" />
    </svg>
  );
}

export function FileIcon(): React.JSX.Element {
  return (
    <svg {...base}>
      <path d="M3.5 1.7h6l3 3v9.6h-9z" />
      <path d="M9.5 1.7v3h3" />
    </svg>
  );
}

export function LockIcon(): React.JSX.Element {
  return (
    <svg {...base}>
      <rect x="3" y="7" width="10" height="7.3" rx="1.2" />
      <path d="M5.3 7V5a2.7 2.7 0 0 1 5.4 0v2" />
    </svg>
  );
}
