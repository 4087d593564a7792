import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type AlignedColumns, timeWindow, tooFewForALine } from '../metric-history';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
}

export interface MetricChartProps {
  /** Caption and accessible name of the chart. */
  readonly title: string;
  readonly series: readonly ChartSeries[];
  /** Columns from MetricHistory.columns(): x in epoch seconds, one array per series. */
  readonly data: AlignedColumns;
  /** Width of the time window shown, in seconds (the history's length). */
  readonly windowSeconds?: number;
  readonly height?: number;
}

/** uPlot draws a line from two values on: a series with fewer in view is drawn as dots, so it is never blank. */
function dotsWhenNoLine(u: uPlot, seriesIdx: number, idx0: number, idx1: number): boolean {
  return tooFewForALine(u.data[seriesIdx], idx0, idx1);
}

/**
 * A uPlot time series of rates (msg/s) over the last minutes. The plot is made once and fed new columns
 * with setData; a ResizeObserver keeps it as wide as its container, so it follows the window and the
 * narrow layout. The canvas says nothing to a screen reader, so the figure's label carries the latest values.
 */
export function MetricChart({ title, series, data, windowSeconds = 300, height = 160 }: MetricChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current as HTMLDivElement;
    const ink = getComputedStyle(element).color || '#333';
    const grid = 'rgba(128, 128, 128, 0.2)';
    const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const chart = new uPlot({
      width: Math.max(element.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        // A fixed window ending at the newest sample (now, before there is one). Read from the data, not from
        // uPlot's max: with a single sample uPlot widens a time scale to one day in ms units, which at our
        // seconds is 1000 days ahead, and the window then showed a 2029 date and no line.
        x: { time: true, range: (u) => timeWindow(u.data[0], windowSeconds, Date.now()) },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [axis, { ...axis, size: 48, label: 'msg/s', labelSize: 18 }],
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: dotsWhenNoLine, size: 6 }, value: (_u: uPlot, v: number | null) => (v === null ? '–' : v.toFixed(2)) })),
      ],
    }, data as uPlot.AlignedData, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== chart.width) chart.setSize({ width, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // series, height and window are fixed for a chart's life
  }, []);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const latest = series.map((s, i) => {
    const column = data[i + 1] ?? [];
    const value = column[column.length - 1];
    return `${s.label} ${typeof value === 'number' ? value.toFixed(2) : 'no data'}`;
  }).join(', ');

  return (
    <figure class="metric-chart" role="img" aria-label={`${title}, msg/s over the last ${Math.round(windowSeconds / 60)} minutes: ${latest}`}>
      <figcaption>{title}</figcaption>
      <div class="metric-chart-plot" ref={host} aria-hidden="true" />
    </figure>
  );
}

