import * as fs from 'fs';
import * as path from 'path';
import { PROTOCOL_VERSION } from './message';
import type { KernelInfoReplyContent } from './message-contents';
import { tsForTslab, tslabVersion } from './tslab';

/** The version of the covalent-ts package this kernel runs from. */
export function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/** The `kernel_info_reply`: the kernel, its language (TypeScript as tslab runs it) and where to read more. */
export function kernelInfo(version: string): KernelInfoReplyContent {
  return {
    status: 'ok',
    protocol_version: PROTOCOL_VERSION,
    implementation: 'covalent-ts',
    implementation_version: version,
    language_info: {
      name: 'typescript',
      version: tsForTslab.version,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      pygments_lexer: 'typescript',
      codemirror_mode: { name: 'javascript', typescript: true },
    },
    banner: `covalent-ts ${version}: TypeScript ${tsForTslab.version} on Node ${process.version} (tslab ${tslabVersion})`,
    help_links: [{ text: 'covalent-ts', url: 'https://www.npmjs.com/package/covalent-ts' }],
  };
}
