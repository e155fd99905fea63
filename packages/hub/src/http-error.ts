/** An answer other than 200 with its one-line reason (the error page shows it). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
