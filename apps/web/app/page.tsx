import { LiveNow } from './_components/live-now';

/** `/`: videos live now and recently ended. */
export default function HomePage() {
  return (
    <main className="page">
      <header className="bar">
        <span className="brand">Ovation</span>
      </header>
      <h1>Live now</h1>
      <LiveNow />
    </main>
  );
}
