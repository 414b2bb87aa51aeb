" Chat buffers of chatd.nvim.
if exists("b:current_syntax")
  finish
endif
syntax match chatdHeader /\%1l.*/
syntax match chatdOlder /\%2l(older messages.*)/
syntax match chatdRole /^## \(You\|Assistant\)$/
syntax match chatdTool /^[⚙↳] .*/
syntax match chatdNotice /^\[\(error\|cancelled\|deleted\)\].*/
syntax region chatdThinking start=/^▸ thinking {{{$/ end=/^}}}$/
highlight default link chatdHeader StatusLine
highlight default link chatdOlder Comment
highlight default link chatdRole Statement
highlight default link chatdTool Identifier
highlight default link chatdNotice WarningMsg
highlight default link chatdThinking Comment
let b:current_syntax = "chatd"
