/**
 * Contents of the Jupyter messages the kernel handles and sends (messaging
 * spec 5.3). Requests arrive from a client: any field may be missing or of the
 * wrong type, so each is `unknown` and the handler converts it where it reads
 * it (never `as any`). What the kernel sends is typed exactly, per msg_type,
 * so a reply or an IOPub message cannot go out with a misspelt field.
 */

// ---- requests (shell and control) --------------------------------------------

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

// ---- IOPub -------------------------------------------------------------------

/** MIME type -> representation (`text/plain` is always there in what the kernel sends). */
export type MimeBundle = Record<string, unknown>;

export type ExecutionState = 'busy' | 'idle' | 'starting';
export type StreamName = 'stdout' | 'stderr';

export interface StatusContent {
  execution_state: ExecutionState;
}

export interface StreamContent {
  name: StreamName;
  text: string;
}

export interface ExecuteInputContent {
  code: string;
  execution_count: number;
}

export interface ExecuteResultContent {
  execution_count: number;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** The `error` IOPub message, and the error fields of an `execute_reply`. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** `display_data` and `update_display_data` (an update needs `transient.display_id`). */
export interface DisplayDataContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

/** `comm_msg` and `comm_close` sent by the kernel. */
export interface CommMessageContent {
  comm_id: string;
  data: unknown;
}

/** What the kernel publishes on IOPub, by msg_type. */
export interface IopubContents {
  status: StatusContent;
  stream: StreamContent;
  execute_input: ExecuteInputContent;
  execute_result: ExecuteResultContent;
  error: ErrorContent;
  display_data: DisplayDataContent;
  update_display_data: DisplayDataContent;
  comm_msg: CommMessageContent;
  comm_close: CommMessageContent;
}
export type IopubType = keyof IopubContents;

// ---- replies -----------------------------------------------------------------

export interface KernelInfoReplyContent {
  status: 'ok';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: {
    name: string;
    version: string;
    mimetype: string;
    file_extension: string;
    pygments_lexer: string;
    codemirror_mode: { name: string; typescript: boolean };
  };
  banner: string;
  help_links: Array<{ text: string; url: string }>;
}

/** `execute_reply`: `aborted` when a cell was skipped after an earlier one failed with stop_on_error. */
export type ExecuteReplyContent =
  | { status: 'ok'; execution_count: number; user_expressions: Record<string, unknown>; payload: unknown[] }
  | ({ status: 'error'; execution_count: number } & ErrorContent)
  | { status: 'aborted'; execution_count: null };

export type IsCompleteReplyContent = { status: 'complete' } | { status: 'incomplete'; indent: string } | { status: 'invalid' };

export interface CompleteReplyContent {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  /** JupyterLab shows these kinds next to the matches. */
  metadata: { _jupyter_types_experimental: Array<{ start: number; end: number; text: string; type: string }> };
}

export interface InspectReplyContent {
  status: 'ok';
  found: boolean;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** What the kernel replies on shell and control, by msg_type. */
export interface ReplyContents {
  kernel_info_reply: KernelInfoReplyContent;
  execute_reply: ExecuteReplyContent;
  is_complete_reply: IsCompleteReplyContent;
  complete_reply: CompleteReplyContent;
  inspect_reply: InspectReplyContent;
  history_reply: { status: 'ok'; history: unknown[] };
  comm_info_reply: { status: 'ok'; comms: Record<string, { target_name: string }> };
  interrupt_reply: { status: 'ok' };
  shutdown_reply: { status: 'ok'; restart: boolean };
}
export type ReplyType = keyof ReplyContents;
