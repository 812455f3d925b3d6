// The protocol floor: an MCP server over stdio built the standard SDK way, with one tool that
// does nothing. brain's latency is compared against this, measured in the same bench run.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'noop', version: '1.0.0' });
server.registerTool(
  'noop',
  { description: 'Does nothing.', inputSchema: { text: z.string().optional() }, outputSchema: { ok: z.boolean() } },
  async () => ({ content: [{ type: 'text', text: '{"ok":true}' }], structuredContent: { ok: true } }),
);
await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
