import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { flvHeader, flvTagFrame } from './flv.js';

/*
 * One ffmpeg per publish: FLV on its stdin, HLS in the session's directory. Video is copied (the
 * encoder's keyframe interval sets the segment length: 1 s asked of OBS users, README);
 * audio is encoded to AAC whatever it was, as the packager starts before the first audio tag
 * says what it is. Segments of 1 s, 6 in the playlist, older ones deleted.
 *
 * A second output writes the poster the home page shows: one keyframe every POSTER_EVERY_S,
 * POSTER_WIDTH pixels wide, as a JPEG replaced in place (written aside, then renamed: a reader
 * never gets half of one). What it costs: only keyframes are decoded (`-skip_frame nokey` applies
 * to the decoder; the copied video never goes through it) — one decode a second instead of 30,
 * and one small JPEG encode every 5 s. The decoder and the JPEG encoder are single-threaded: with
 * frame threads each would hold back a frame per thread — a decoded keyframe a second, a poster
 * 5 s — delaying every poster by as much.
 */

export const POSTER_FILE = 'poster.jpg';
const POSTER_EVERY_S = 5;
const POSTER_WIDTH = 320;

const STOP_GRACE_MS = 2000;
const STDERR_KEPT = 4096;

export function packagerArgs(dir: string): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    // Start packaging after half a second of input, not ffmpeg's default 5 s of probing: the FLV
    // sequence headers say all it needs, and every second probed is a second of delay for viewers
    // (and PROGRAM-DATE-TIME, stamped when packaging starts, would lag the picture by it).
    '-analyzeduration',
    '500000',
    '-skip_frame',
    'nokey',
    '-threads',
    '1',
    '-f',
    'flv',
    '-i',
    'pipe:0',
    '-c:v',
    'copy',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-f',
    'hls',
    '-hls_time',
    '1',
    '-hls_list_size',
    '6',
    '-hls_flags',
    'independent_segments+program_date_time+delete_segments+omit_endlist+temp_file',
    '-hls_segment_filename',
    join(dir, 'seg-%d.ts'),
    join(dir, 'index.m3u8'),
    // The poster: the first keyframe at once, then one every POSTER_EVERY_S (video only).
    '-map',
    '0:v:0',
    '-an',
    '-vf',
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${POSTER_EVERY_S})',scale=${POSTER_WIDTH}:-2`,
    '-fps_mode',
    'vfr',
    '-q:v',
    '5',
    '-threads',
    '1',
    '-f',
    'image2',
    '-update',
    '1',
    '-atomic_writing',
    '1',
    join(dir, POSTER_FILE),
  ];
}

/** What the media path needs of a packager (a fake one in unit tests). */
export interface Packager {
  /** Appends one FLV tag; the body is not copied. */
  write(type: number, timestamp: number, body: Buffer): void;
  /** Bytes written and not yet taken by the packager. */
  readonly backlog: number;
  /** Called once if the packager exits before stop() (a crash, or refusing the stream). */
  onExit(listener: (detail: string) => void): void;
  /** Ends the packager: stdin closed and SIGTERM (it finishes its segment), SIGKILL after 2 s. */
  stop(): Promise<void>;
}

export type StartPackager = (dir: string) => Packager;

export function ffmpegPackager(ffmpeg: string): StartPackager {
  return (dir) => new FfmpegPackager(ffmpeg, dir);
}

class FfmpegPackager implements Packager {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private stopping = false;
  private stderr = '';
  private exitListener: ((detail: string) => void) | undefined;

  constructor(ffmpeg: string, dir: string) {
    // Nothing of the service's environment (its INTERNAL_TOKEN) reaches ffmpeg: just where to find
    // its libraries' binaries.
    this.child = spawn(ffmpeg, packagerArgs(dir), {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_KEPT);
    });
    // EPIPE when ffmpeg is gone: its exit says why.
    this.child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (detail: string) => {
        if (done) return;
        done = true;
        resolve();
        if (!this.stopping) this.exitListener?.(detail);
      };
      this.child.once('error', (error) => finish(`could not run ${ffmpeg}: ${error.message}`));
      this.child.once('close', (code, signal) =>
        finish(`exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim()}` : ''}`),
      );
    });
    this.child.stdin?.write(flvHeader());
  }

  write(type: number, timestamp: number, body: Buffer): void {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || this.stopping) return;
    const { header, trailer } = flvTagFrame(type, timestamp, body.length);
    // One writev for the three parts.
    stdin.cork();
    stdin.write(header);
    stdin.write(body);
    stdin.write(trailer);
    stdin.uncork();
  }

  get backlog(): number {
    return this.child.stdin?.writableLength ?? 0;
  }

  onExit(listener: (detail: string) => void): void {
    this.exitListener = listener;
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.child.stdin?.end();
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      this.exited.finally(() => clearTimeout(killer));
    }
    await this.exited;
  }
}

/**
 * `ffmpeg -version`'s first line, or an error saying how to get one: the ingest does nothing
 * without it, so it refuses to start rather than refuse every publish.
 */
export function checkFfmpeg(ffmpeg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ffmpeg, ['-version'], { timeout: 10_000, maxBuffer: 1024 * 1024 }, (error, stdout) => {
      if (error) {
        reject(
          new Error(
            `ffmpeg is needed to package HLS and \`${ffmpeg} -version\` failed (${error.message.split('\n')[0]}); ` +
              'install it (Debian: apt-get install ffmpeg) or set FFMPEG to its path',
          ),
        );
        return;
      }
      resolve(stdout.split('\n')[0]?.trim() ?? 'ffmpeg');
    });
  });
}
