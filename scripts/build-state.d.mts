/** Types of build-state.mjs, for the tests that import it. */
export interface Workspace {
  name: string;
  dir: string;
  sources: string[];
  output: string;
}
export const ROOT: string;
/** Every workspace `npm start` may build, in build order. */
export const WORKSPACES: Workspace[];
/** Workspaces (in build order) whose output is missing or stale. */
export function staleWorkspaces(names?: string[]): Workspace[];
