/** The user asked for something that cannot be done as asked; the message says how to fix it. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
