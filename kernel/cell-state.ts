/**
 * Memory the main thread shares with the control worker (an Int32Array over a
 * SharedArrayBuffer). Slot RUNNING_SEQ holds the sequence number of the execute
 * now running (0: none), written by the main thread as each cell starts and
 * ends. Messages can lag on a loaded machine; this cannot, so the worker never
 * sends SIGINT for a cell that has already ended (a stray SIGINT landing while
 * the next cell's script starts, when Node briefly restores the default action,
 * would end the kernel).
 */
export const RUNNING_SEQ = 0;
export const CELL_STATE_SLOTS = 1;
