import React, { ReactNode, useCallback, useState } from 'react';

export interface VirtualListProps {
  itemCount: number;
  /** Fixed row height in pixels. */
  itemHeight: number;
  /** Viewport height in pixels. */
  height: number;
  /** Rows rendered above and below the viewport. */
  overscan?: number;
  className?: string;
  'data-testid'?: string;
  /** Renders row `index`; place it with the given style (absolute position). */
  renderRow: (index: number, style: React.CSSProperties) => ReactNode;
}

/** The rows to render for a scroll position: [start, end). */
export function visibleRange(
  scrollTop: number,
  height: number,
  itemHeight: number,
  itemCount: number,
  overscan: number
): [number, number] {
  const first = Math.floor(Math.max(0, scrollTop) / itemHeight);
  const visible = Math.ceil(height / itemHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(itemCount, first + visible + overscan);
  return [start, Math.max(start, end)];
}

/**
 * A windowed list: only the rows in (and just around) the viewport are in the DOM, so it stays
 * smooth with tens of thousands of rows.
 */
export function VirtualList({
  itemCount,
  itemHeight,
  height,
  overscan = 8,
  className,
  renderRow,
  ...rest
}: VirtualListProps) {
  const [scrollTop, setScrollTop] = useState(0);
  const onScroll = useCallback((e: React.UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop), []);
  const [start, end] = visibleRange(scrollTop, height, itemHeight, itemCount, overscan);
  const rows: ReactNode[] = [];
  for (let i = start; i < end; i++) {
    rows.push(renderRow(i, { position: 'absolute', top: i * itemHeight, height: itemHeight, left: 0, right: 0 }));
  }
  return (
    <div
      className={className}
      style={{ height, overflowY: 'auto', position: 'relative' }}
      onScroll={onScroll}
      data-testid={rest['data-testid']}
      role="rowgroup"
    >
      <div style={{ height: itemCount * itemHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
