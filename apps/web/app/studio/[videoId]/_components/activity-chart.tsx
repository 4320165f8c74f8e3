'use client';

import type { TActivityMinute } from '@ovation/shared';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

const time = (minute: number) =>
  new Date(minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });

/** Likes or comments per minute over the last 10 minutes, as bars (recharts). */
export function ActivityChart({
  title,
  data,
  field,
}: {
  title: string;
  data: readonly TActivityMinute[];
  field: 'likes' | 'comments';
}) {
  const total = data.reduce((n, m) => n + m[field], 0);
  return (
    <figure className="panel chart" aria-label={title}>
      <figcaption>
        {title} <span className="hint">— {total} in the last 10 minutes</span>
      </figcaption>
      <div className="chart-area">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={[...data]} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#2a2f3a" vertical={false} />
            <XAxis dataKey="minute" tickFormatter={time} stroke="#9aa3b2" fontSize={12} />
            <YAxis allowDecimals={false} stroke="#9aa3b2" fontSize={12} />
            <Tooltip
              labelFormatter={(label) => time(Number(label))}
              contentStyle={{ background: '#171a21', border: '1px solid #2a2f3a' }}
            />
            <Bar dataKey={field} fill={field === 'likes' ? '#ff3d6e' : '#4f8cff'} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
