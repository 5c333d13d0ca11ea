// A uPlot time series chart, loaded on demand (uPlot stays out of the first page's bundle).
// Besides the drawn series it renders the same figures as a table for screen readers, and the
// caller's summary as text.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  colour: string;
  dash?: number[];
  /** Steps hold a value until the next point (prices); lines interpolate (counts). */
  stepped?: boolean;
  points?: boolean;
}

export default function TimeChart(props: {
  title: string;
  times: number[];
  series: Series[];
  height?: number;
  format?: (value: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element || props.times.length === 0) return;
    const format = props.format ?? ((v: number) => String(v));
    const chart = new uPlot(
      {
        width: Math.max(element.clientWidth, 280),
        height: props.height ?? 260,
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, values) => values.map((v) => format(v)), size: 96 }],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.colour,
            width: 2,
            dash: s.dash,
            paths: s.stepped ? uPlot.paths.stepped?.({ align: 1 }) : undefined,
            points: { show: s.points ?? false },
            value: (_u: uPlot, v: number | null) => (v == null ? "—" : format(v)),
          })),
        ],
      },
      [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 280), height: props.height ?? 260 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.times, props.series, props.height, props.format]);
  if (props.times.length === 0) return <p className="text-slate-600">No data for this period yet.</p>;
  const format = props.format ?? ((v: number) => String(v));
  return (
    <figure>
      <div ref={box} role="img" aria-label={props.title} data-testid="chart" />
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer">{props.title}: show as a table</summary>
        <table className="mt-2 w-full text-left">
          <thead>
            <tr>
              <th scope="col">Time</th>
              {props.series.map((s) => (
                <th key={s.label} scope="col">
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.times.map((t, i) => (
              <tr key={t}>
                <td>{new Date(t * 1000).toLocaleString()}</td>
                {props.series.map((s) => (
                  <td key={s.label}>{s.values[i] == null ? "—" : format(s.values[i] as number)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
