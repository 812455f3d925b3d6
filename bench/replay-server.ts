// An MCP server that answers every tools/call with results recorded from brain (a JSON array in
// the file named by REPLAY_FILE). Timed beside brain, it shows what the answer's bytes cost on
// the protocol alone, apart from the work brain does to produce them.
import fs from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const results = JSON.parse(fs.readFileSync(process.env.REPLAY_FILE ?? '', 'utf8')) as CallToolResult[];
const server = new Server({ name: 'replay', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'replay', inputSchema: { type: 'object' } }] }));
let next = 0;
server.setRequestHandler(CallToolRequestSchema, async () => results[next++ % results.length]);
await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
