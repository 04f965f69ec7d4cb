import {
  closestCenter,
  DndContext,
  KeyboardSensor,
  PointerSensor,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
  type Modifier,
  type UniqueIdentifier,
} from '@dnd-kit/core';
import {
  arrayMove,
  SortableContext,
  sortableKeyboardCoordinates,
  verticalListSortingStrategy,
} from '@dnd-kit/sortable';
import type { RuleConfig } from '../../../../shared/config';
import { RuleCard } from './RuleCard';

/** Rules only move up and down: the list is one column. */
const verticalOnly: Modifier = ({ transform }) => ({ ...transform, x: 0 });

const SCREEN_READER = {
  draggable:
    'To move a rule, press Space or Enter, then the up and down arrow keys. Press Space or Enter again to drop it there, or Escape to cancel.',
};

/**
 * The rules in the order they are tried. Reordering works by dragging a card's handle, from the
 * keyboard (Space, arrows, Space) and with the move buttons; each reorder is one save.
 */
export function RuleList({
  rules,
  busy,
  onEdit,
  onDelete,
  onReorder,
}: {
  rules: readonly RuleConfig[];
  busy: boolean;
  onEdit: (name: string) => void;
  onDelete: (name: string) => void;
  /** The new order and the rule that moved; `button` when a move button did it (the focus stays on it). */
  onReorder: (next: RuleConfig[], moved: string, button?: 'up' | 'down') => void;
}) {
  const sensors = useSensors(
    // A few pixels of travel before a drag starts: a click on the handle stays a click.
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const ids = rules.map((r) => r.name);
  const position = (id: UniqueIdentifier | undefined) => ids.indexOf(String(id)) + 1;
  const announcements: Announcements = {
    onDragStart: ({ active }) =>
      `Picked up rule ${String(active.id)}, position ${position(active.id)} of ${ids.length}.`,
    onDragOver: ({ active, over }) =>
      over ? `Rule ${String(active.id)} is now at position ${position(over.id)} of ${ids.length}.` : undefined,
    onDragEnd: ({ active, over }) =>
      over
        ? `Rule ${String(active.id)} dropped at position ${position(over.id)} of ${ids.length}.`
        : `Rule ${String(active.id)} dropped.`,
    onDragCancel: ({ active }) =>
      `Moving rule ${String(active.id)} was cancelled; it stays at position ${position(active.id)}.`,
  };

  const move = (from: number, to: number, button?: 'up' | 'down') => {
    const name = rules[from]?.name;
    if (name === undefined || to < 0 || to >= rules.length || from === to) return;
    onReorder(arrayMove([...rules], from, to), name, button);
  };
  // dnd-kit gives the focus back to the handle after a drag by itself.
  const onDragEnd = ({ active, over }: DragEndEvent) => {
    if (over && active.id !== over.id) move(ids.indexOf(String(active.id)), ids.indexOf(String(over.id)));
  };

  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCenter}
      modifiers={[verticalOnly]}
      onDragEnd={onDragEnd}
      accessibility={{ announcements, screenReaderInstructions: SCREEN_READER }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy}>
        <ol className="rule-list" aria-label="Rules, in the order they are tried">
          {rules.map((rule, i) => (
            <RuleCard
              key={rule.name}
              rule={rule}
              index={i}
              count={rules.length}
              busy={busy}
              onEdit={() => onEdit(rule.name)}
              onDelete={() => onDelete(rule.name)}
              onMove={(step) => move(i, i + step, step === -1 ? 'up' : 'down')}
            />
          ))}
        </ol>
      </SortableContext>
    </DndContext>
  );
}
