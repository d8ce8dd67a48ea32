/**
 * Sends a message to the forking parent and resolves once it is in the channel, so the order
 * against the child's later I/O holds (the supervisor's observer clock depends on it).
 */
export function sendToParent(message: object, who: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) {
      reject(new Error(`${who} lost its parent process`));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}
