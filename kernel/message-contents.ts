/**
 * Contents of the Jupyter requests the kernel handles, as they arrive from a
 * client: any field may be missing or of the wrong type, so each is `unknown`
 * and the handler converts it where it reads it (never `as any`).
 */

/** `execute_request`. */
export interface ExecuteRequestContent {
  code?: unknown;
  silent?: unknown;
  store_history?: unknown;
  stop_on_error?: unknown;
}

/** `complete_request`, `inspect_request`, `is_complete_request`. */
export interface CodeRequestContent {
  code?: unknown;
  cursor_pos?: unknown;
}

/** `comm_open`, `comm_msg`, `comm_close`, `comm_info_request`. */
export interface CommContent {
  comm_id?: unknown;
  target_name?: unknown;
  data?: unknown;
}

/** `shutdown_request`. */
export interface ShutdownRequestContent {
  restart?: unknown;
}

/** The content of any request the shell handler reads (one switch reads all of them). */
export type RequestContent = ExecuteRequestContent & CodeRequestContent & CommContent & ShutdownRequestContent;

/** A comm's `data` as sent (checked by the comm's own handler), `{}` when absent. */
export function commData(content: CommContent): unknown {
  return content.data ?? {};
}
