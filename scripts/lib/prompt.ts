import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'

/**
 * A new password: the first line of stdin when it is piped (scripts, CI),
 * otherwise typed twice at a prompt that does not echo.
 */
export async function readNewPassword (): Promise<string> {
  if (process.stdin.isTTY !== true) return await readFirstLine()
  const first = await promptHidden('New password: ')
  const second = await promptHidden('Repeat password: ')
  if (first !== second) throw new Error('Passwords do not match')
  return first
}

async function readFirstLine (): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
  try {
    for await (const line of rl) return line
    return ''
  } finally {
    rl.close()
  }
}

async function promptHidden (prompt: string): Promise<string> {
  let muted = false
  // Prompts go to stderr so that they show even when stdout is redirected.
  const output = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk)
      callback()
    }
  })
  // terminal: true puts the tty in raw mode, so only readline echoes, into the muted stream.
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  rl.on('SIGINT', () => {
    process.stderr.write('\n')
    process.exit(130)
  })
  try {
    process.stderr.write(prompt)
    muted = true
    return await new Promise<string>((resolve, reject) => {
      rl.once('close', () => { reject(new Error('No password entered')) })
      rl.question('', resolve)
    })
  } finally {
    muted = false
    rl.close()
    process.stderr.write('\n')
  }
}
