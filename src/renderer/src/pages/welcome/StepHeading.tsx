import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A step's heading. When the flow moves to a step, focus lands here: a screen reader reads the new
 * step, and Tab goes on to its first field.
 */
export function StepHeading({ children, focus }: { children: ReactNode; focus: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) ref.current?.focus();
  }, [focus]);
  return (
    <h2 ref={ref} tabIndex={-1} className="welcome__heading">
      {children}
    </h2>
  );
}
