import Link from 'next/link';
import './not-found.css';

/** Any page that does not exist (an unknown video's link among them), answered with status 404. */
export default function NotFound() {
  return (
    <main className="page not-found">
      <Link href="/" className="brand">
        Ovation
      </Link>
      <div className="not-found-card">
        <p className="not-found-code" aria-hidden="true">
          404
        </p>
        <h1>This page isn’t here</h1>
        <p>The live video may have been removed, or the link is mistyped.</p>
        <Link href="/" className="not-found-home">
          Browse live videos
        </Link>
      </div>
    </main>
  );
}
