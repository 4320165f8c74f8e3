import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { Providers } from './_components/providers';
import './globals.css';

export const metadata: Metadata = {
  title: 'Ovation — live video, live reactions',
  description: 'Watch live video and see everyone’s likes, comments and the viewer count in real time.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, viewportFit: 'cover' };

/**
 * Every page renders per request (none is prerendered at build time): the CSP nonce proxy.ts sets
 * is new each time, and Next stamps it on its scripts only while rendering.
 */
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
