/** Live now. The viewer UI (player, likes, comments) arrives with its own issue; this page says so. */
export default function HomePage() {
  return (
    <main style={{ maxWidth: 720, margin: '0 auto', padding: '48px 20px' }}>
      <h1>Ovation</h1>
      <p>Real-time likes, comments and viewer counts for live video.</p>
      <p>
        The delivery pipe is running: connect a viewer with <code>curl -N</code> to the realtime node and publish
        through the dispatcher (see the README). The live viewer page comes next.
      </p>
    </main>
  );
}
