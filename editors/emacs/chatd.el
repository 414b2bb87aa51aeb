;;; chatd.el --- Persistent LLM conversations through the chatd daemon -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The chatd authors

;; Author: The chatd authors
;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: tools, convenience
;; SPDX-License-Identifier: Apache-2.0

;; This file is not part of GNU Emacs.

;; Licensed under the Apache License, Version 2.0 (the "License");
;; you may not use this file except in compliance with the License.
;; You may obtain a copy of the License at
;;
;;     http://www.apache.org/licenses/LICENSE-2.0
;;
;; Unless required by applicable law or agreed to in writing, software
;; distributed under the License is distributed on an "AS IS" BASIS,
;; WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
;; See the License for the specific language governing permissions and
;; limitations under the License.

;;; Commentary:

;; chatd is a daemon that holds LLM conversations (Claude, OpenAI,
;; Gemini, local models, an offline echo provider) and saves each one
;; after every turn.  This package talks to it over stdio with the
;; `jsonrpc' library that Emacs 28.1 and later ship (version 1.0.14 or
;; newer), hence no separate dependency on it.
;;
;; `chatd-new' opens a chat buffer, `chatd-send' and `chatd-send-region'
;; send a message to it and stream the reply in, `chatd-resume' reopens
;; a saved conversation, `chatd-cancel' stops the running turn and
;; `chatd-delete' deletes a saved conversation.  Each chat buffer keeps
;; its conversation's id, so when the daemon dies the next command
;; starts it again and the conversation goes on in the same buffer.

;;; Code:

(require 'jsonrpc)
(require 'parse-time)
(require 'project)
(require 'seq)
(require 'subr-x)

(defgroup chatd nil
  "Persistent LLM conversations through the chatd daemon."
  :group 'tools
  :prefix "chatd-")

(defcustom chatd-command '("chatd" "serve" "--stdio" "--shared")
  "The daemon's command line, a list of the program and its arguments.
The default attaches to the per-user shared daemon, starting it if
none runs; use (\"chatd\" \"serve\" \"--stdio\") for a private daemon."
  :type '(repeat string))

(defcustom chatd-environment nil
  "Environment variables for the daemon, as \"NAME=VALUE\" strings.
They are added in front of `process-environment' when it starts."
  :type '(repeat string))

(defcustom chatd-history-page-size 50
  "How many history items `chatd-resume' and `chatd-load-older' fetch."
  :type '(integer :tag "Items (1-200)"))

(defcustom chatd-request-timeout 30
  "Seconds to wait for the daemon to answer a request other than a turn."
  :type 'number)

(defcustom chatd-client-tools t
  "Non-nil to let the model read buffers, list and open workspace files.
Reading is allowed at once; opening a file asks first (`tool/approve')."
  :type 'boolean)

(defcustom chatd-workspace-max-files 2000
  "How many file names the list_workspace_files tool returns at most."
  :type 'integer)

(defcustom chatd-tool-result-max-chars 400
  "Longest tool result shown in full; longer ones are cut."
  :type 'integer)

(defface chatd-user-heading
  '((t :inherit font-lock-keyword-face :weight bold))
  "Face of the heading above the user's messages.")

(defface chatd-assistant-heading
  '((t :inherit font-lock-function-name-face :weight bold))
  "Face of the heading above the model's replies.")

(defface chatd-thinking
  '((t :inherit shadow :slant italic))
  "Face of the model's thinking.")

(defface chatd-tool
  '((t :inherit font-lock-constant-face))
  "Face of tool calls and their results.")

(defface chatd-notice
  '((t :inherit font-lock-warning-face))
  "Face of notices such as a cancelled turn or a daemon that stopped.")

(defvar desktop-buffer-mode-handlers)
(defvar desktop-save-buffer)

(defvar chatd--connection nil
  "The live `jsonrpc-process-connection' to the daemon, or nil.")

(defvar chatd--capabilities nil
  "The capabilities plist of the daemon's last `initialize' answer.")

(defvar-local chatd--session-id nil
  "The id of this chat buffer's conversation.")

(defvar-local chatd--provider nil
  "The provider of this chat buffer's conversation.")

(defvar-local chatd--model nil
  "The model of this chat buffer's conversation.")

(defvar-local chatd--state "idle"
  "The state of this buffer's conversation: idle, running, cancelled, failed.")

(defvar-local chatd--turn nil
  "Non-nil while a `chat/send' of this buffer waits for its answer.")

(defvar-local chatd--turn-output nil
  "Non-nil once the running turn showed something.")

(defvar-local chatd--block nil
  "What the last streamed delta was: nil, `text' or `thinking'.")

(defvar-local chatd--usage nil
  "Token usage of the last turn, a plist.")

(defvar-local chatd--total-tokens 0
  "Tokens used by the turns run from this buffer.")

(defvar-local chatd--output nil
  "Marker where streamed text goes, at the end of the transcript.")

(defvar-local chatd--workspace nil
  "The directory of this buffer's conversation: its project's root.")

(defvar-local chatd--tools-connection nil
  "The connection that hosts this conversation's client tools.")

(defvar-local chatd--history-cursor nil
  "The cursor of the next older history page, or nil when all is shown.")

;;; Connection

(defclass chatd--connection-class (jsonrpc-process-connection) ()
  "A connection that can answer the daemon's requests later.
jsonrpc 1.0.14 answers a request with its dispatcher's return value at
once, inside the process filter, where prompting the user would re-enter
the filter.  A dispatcher that returns a `chatd--later' object instead
gets its function called from a timer with the request's id.")

(cl-defstruct (chatd--later (:constructor chatd--later (function)))
  "An answer to the daemon's request that FUNCTION sends later."
  function)

(cl-defmethod jsonrpc-connection-send ((connection chatd--connection-class)
                                       &rest args &key id result
                                       &allow-other-keys)
  "Send ARGS to CONNECTION; a `chatd--later' RESULT answers request ID later."
  (if (chatd--later-p result)
      (run-at-time 0 nil (chatd--later-function result) connection id)
    (apply #'cl-call-next-method connection args)))

(defun chatd--connect ()
  "Start the daemon, send `initialize' and return the connection."
  (let* ((process-environment (append chatd-environment process-environment))
         (connection
          (condition-case err
              (make-instance
               'chatd--connection-class
               :name "chatd"
               :events-buffer-scrollback-size 200
               :process (lambda ()
                          (make-process
                           :name "chatd" :command chatd-command
                           :connection-type 'pipe :coding 'utf-8-emacs-unix
                           :noquery t
                           :stderr (get-buffer-create "*chatd stderr*")))
               :notification-dispatcher #'chatd--handle-notification
               :request-dispatcher #'chatd--handle-request
               :on-shutdown #'chatd--on-shutdown)
            (file-error
             (user-error "Cannot start %s (%s); check `chatd-command'"
                         (car chatd-command) (error-message-string err))))))
    (setq chatd--connection connection)
    (condition-case err
        (let ((result (jsonrpc-request
                       connection 'initialize
                       (list :clientInfo (list :name "emacs"
                                               :version emacs-version))
                       :timeout chatd-request-timeout)))
          (setq chatd--capabilities (plist-get result :capabilities)))
      (jsonrpc-error
       (jsonrpc-shutdown connection)
       (setq chatd--connection nil)
       (user-error "The chatd daemon did not start: %s; see *chatd stderr*"
                   (chatd--error-message (cddr err)))))
    connection))

(defun chatd--live-connection ()
  "Return a live connection to the daemon, starting it if needed."
  (if (and chatd--connection (jsonrpc-running-p chatd--connection))
      chatd--connection
    (chatd--connect)))

(defun chatd--on-shutdown (connection)
  "Forget CONNECTION once its process ended."
  (when (eq connection chatd--connection)
    (setq chatd--connection nil)))

(defun chatd--error-message (error)
  "The readable message of ERROR.
ERROR is a JSON-RPC error plist or the data of a `jsonrpc-error'."
  (or (plist-get error :message)
      (and (consp (car-safe error))
           (alist-get 'jsonrpc-error-message error))
      (format "%S" error)))

(defun chatd--call (send)
  "Call SEND with a live connection, reconnecting once if the daemon is gone.
A daemon that died since the last command is only noticed when writing
to it fails; then a new one is started and SEND is called again."
  (condition-case err
      (funcall send (chatd--live-connection))
    ((jsonrpc-error user-error) (signal (car err) (cdr err)))
    (error
     (if (and chatd--connection (jsonrpc-running-p chatd--connection))
         (signal (car err) (cdr err))
       (setq chatd--connection nil)
       (funcall send (chatd--live-connection))))))

(defun chatd--request (method &optional params)
  "Send METHOD with PARAMS (a plist) to the daemon and return its result.
An error answer becomes a `user-error' with the daemon's message."
  (condition-case err
      (chatd--call
       (lambda (connection)
         (jsonrpc-request connection method (or params (make-hash-table))
                          :timeout chatd-request-timeout)))
    (jsonrpc-error
     (user-error "chatd: %s" (chatd--error-message (cddr err))))))

(defun chatd--handle-request (_connection method params)
  "Answer the daemon's request METHOD with PARAMS: `tool/call', `tool/approve'."
  (pcase method
    ('tool/call (chatd--call-tool params))
    ('tool/approve (chatd--later (lambda (connection id)
                                   (chatd--approve connection id params))))
    (_ (jsonrpc-error :code -32601 :message (format "emacs has no %s" method)))))

(defun chatd--handle-notification (_connection method params)
  "Route the daemon's notification METHOD with PARAMS to its chat buffer."
  (when (eq method 'chat/update)
    (when-let ((buffer (chatd--session-buffer (plist-get params :sessionId))))
      (with-current-buffer buffer
        (chatd--apply-update params)))))

;;;###autoload
(defun chatd-disconnect ()
  "Stop the daemon started for this Emacs, or detach from a shared one."
  (interactive)
  (when-let ((connection chatd--connection))
    (setq chatd--connection nil)
    (when (jsonrpc-running-p connection)
      (ignore-errors
        (jsonrpc-request connection 'shutdown (make-hash-table) :timeout 5))
      (ignore-errors (jsonrpc-notify connection 'exit (make-hash-table)))
      ;; Let it exit by itself: `jsonrpc-shutdown' kills it at once.
      (with-timeout (5)
        (while (jsonrpc-running-p connection)
          (accept-process-output nil 0.05))))
    (jsonrpc-shutdown connection)))

;;; Chat buffers

(defvar chatd-chat-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'chatd-send)
    (define-key map (kbd "C-c C-c") #'chatd-send)
    (define-key map (kbd "C-c C-k") #'chatd-cancel)
    (define-key map (kbd "TAB") #'chatd-toggle-thinking)
    (define-key map (kbd "o") #'chatd-load-older)
    map)
  "Keys of `chatd-chat-mode'.")

(define-derived-mode chatd-chat-mode special-mode "Chatd"
  "A chatd conversation; replies stream in as the model writes them.
\\<chatd-chat-mode-map>\\[chatd-send] sends a message, \\[chatd-cancel] \
cancels the running turn, \\[chatd-toggle-thinking] shows or hides the
model's thinking, \\[chatd-load-older] loads older messages and \\[revert-buffer]
shows the conversation again as the daemon has it.

\\{chatd-chat-mode-map}"
  (setq-local truncate-lines nil)
  (setq-local word-wrap t)
  (add-to-invisibility-spec '(chatd-thinking . t))
  (setq chatd--output (point-max-marker))
  (set-marker-insertion-type chatd--output t)
  (setq-local revert-buffer-function #'chatd--revert)
  (setq-local desktop-save-buffer #'chatd--desktop-save)
  (setq header-line-format '(:eval (chatd--header-line))))

(defun chatd--header-line ()
  "The header line of a chat buffer: provider, model, state and tokens."
  (concat
   (propertize (if chatd--provider
                   (format " %s/%s" chatd--provider chatd--model)
                 " (not loaded)")
               'face 'bold)
   (format "  %s" chatd--state)
   (when chatd--usage
     (format "  tokens: %s in, %s out (total %s)"
             (plist-get chatd--usage :inputTokens)
             (plist-get chatd--usage :outputTokens)
             chatd--total-tokens))))

(defun chatd--session-buffer (session-id)
  "The live chat buffer of SESSION-ID, or nil."
  (and session-id
       (seq-find (lambda (buffer)
                   (equal (buffer-local-value 'chatd--session-id buffer)
                          session-id))
                 (buffer-list))))

(defun chatd--chat-buffers ()
  "The chat buffers, the most recently selected first."
  (seq-filter (lambda (buffer)
                (and (buffer-local-value 'chatd--session-id buffer)
                     (eq (buffer-local-value 'major-mode buffer)
                         'chatd-chat-mode)))
              (buffer-list)))

(defun chatd--open-buffer (name session)
  "Make a chat buffer called NAME for SESSION, a `chat/new' result plist."
  (with-current-buffer (generate-new-buffer name)
    (chatd-chat-mode)
    (setq chatd--session-id (plist-get session :sessionId)
          chatd--provider (plist-get session :provider)
          chatd--model (plist-get session :model))
    (current-buffer)))

(defmacro chatd--at-output (&rest body)
  "Run BODY with point at the end of the transcript, windows following it."
  (declare (indent 0) (debug t))
  `(let ((following (seq-filter
                     (lambda (window) (>= (window-point window) chatd--output))
                     (get-buffer-window-list nil nil t)))
         (inhibit-read-only t))
     (save-excursion
       (goto-char chatd--output)
       ,@body)
     (dolist (window following)
       (set-window-point window chatd--output))))

(defun chatd--insert-heading (text face)
  "Insert the heading TEXT in FACE on a line of its own, after a blank line."
  (unless (bobp)
    (insert (if (bolp) "\n" "\n\n")))
  (insert (propertize text 'face face) "\n"))

(defun chatd--insert-reply-heading ()
  "Insert the heading above a reply of the model."
  (chatd--insert-heading (format "%s" (or chatd--model "assistant"))
                         'chatd-assistant-heading))

(defun chatd--insert-notice (text)
  "Insert the notice TEXT on a line of its own."
  (unless (bolp) (insert "\n"))
  (insert (propertize (format "[%s]" text) 'face 'chatd-notice) "\n"))

(defun chatd--json-text (value)
  "VALUE, a string or parsed JSON, as text."
  (if (stringp value)
      value
    (json-serialize value :null-object nil :false-object :json-false)))

(defun chatd--insert-tool-call (name arguments)
  "Insert a call of the tool NAME with ARGUMENTS (parsed JSON)."
  (unless (bolp) (insert "\n"))
  (insert (propertize (format "⚙ %s %s" name
                              (chatd--json-text (or arguments
                                                    (make-hash-table))))
                      'face 'chatd-tool)
          "\n"))

(defun chatd--insert-tool-result (name content error-p)
  "Insert the result CONTENT of the tool NAME; ERROR-P if it failed."
  (let ((text (string-trim-right (chatd--json-text content))))
    (when (> (length text) chatd-tool-result-max-chars)
      (setq text (concat (substring text 0 chatd-tool-result-max-chars) "…")))
    (unless (bolp) (insert "\n"))
    (insert (propertize (format "→ %s%s: %s" name (if error-p " failed" "") text)
                        'face (if error-p 'error 'chatd-tool))
            "\n")))

(defun chatd--insert-thinking (text)
  "Insert the thinking delta TEXT, folded under a visible heading."
  (unless (eq chatd--block 'thinking)
    (unless (bolp) (insert "\n"))
    (insert (propertize "▸ thinking" 'face 'chatd-thinking)
            (propertize "\n" 'invisible 'chatd-thinking)))
  (insert (propertize text 'face 'chatd-thinking 'invisible 'chatd-thinking))
  (setq chatd--block 'thinking))

(defun chatd--insert-text (text)
  "Insert the reply delta TEXT."
  (when (eq chatd--block 'thinking)
    (insert "\n"))
  (insert text)
  (setq chatd--block 'text))

(defun chatd--apply-update (update)
  "Show the `chat/update' UPDATE in the current chat buffer."
  (let ((kind (plist-get update :kind)))
    (unless (equal kind "status")
      (setq chatd--turn-output t))
    (chatd--at-output
      (pcase kind
        ("text" (chatd--insert-text (plist-get update :text)))
        ("thinking" (chatd--insert-thinking (plist-get update :text)))
        ("tool_call"
         (when (equal (plist-get update :phase) "end")
           (chatd--insert-tool-call (plist-get update :name)
                                    (plist-get update :arguments))
           (setq chatd--block nil)))
        ("tool_result"
         (chatd--insert-tool-result (plist-get update :name)
                                    (plist-get update :content)
                                    (eq (plist-get update :isError) t))
         (setq chatd--block nil))
        ("status"
         (let ((state (plist-get update :state)))
           (when (and (equal state "running") (not chatd--turn))
             (chatd--insert-reply-heading)
             (setq chatd--block nil))
           (setq chatd--state state)))))
    (force-mode-line-update)))

(defun chatd--insert-history-item (item)
  "Insert the history ITEM of `chat/restore' or `chat/history' at point."
  (let ((role (plist-get item :role))
        (text (plist-get item :text)))
    (pcase role
      ("user" (chatd--insert-heading "You" 'chatd-user-heading))
      ("assistant" (chatd--insert-reply-heading)))
    (unless (string-empty-p text)
      (insert text))
    (seq-doseq (call (plist-get item :toolCalls))
      (chatd--insert-tool-call (plist-get call :name)
                               (plist-get call :arguments)))
    (seq-doseq (result (plist-get item :toolResults))
      (chatd--insert-tool-result (plist-get result :name)
                                 (plist-get result :content)
                                 (eq (plist-get result :isError) t)))))

(defun chatd--insert-older-button ()
  "Insert the button that fetches older messages, at point."
  (insert-text-button "[older messages: press o or click]"
                      'action (lambda (_button) (chatd-load-older))
                      'chatd-older t)
  (insert "\n"))

(defun chatd--insert-history-page (items cursor)
  "Insert the history ITEMS at the top of the buffer; CURSOR pages further."
  (let ((inhibit-read-only t))
    (save-excursion
      (goto-char (point-min))
      (when (get-text-property (point) 'chatd-older)
        (delete-region (point) (line-beginning-position 2)))
      (when cursor
        (chatd--insert-older-button))
      (save-restriction
        (narrow-to-region (point) (point))
        (seq-doseq (item items)
          (chatd--insert-history-item item)))
      (unless (eobp)
        (insert (if (bolp) "\n" "\n\n")))))
  (setq chatd--history-cursor cursor))

(defun chatd--target-buffer ()
  "The chat buffer a command acts on: this one, else the last one used."
  (or (and (derived-mode-p 'chatd-chat-mode) chatd--session-id (current-buffer))
      (car (chatd--chat-buffers))))

(defun chatd--require-chat-buffer ()
  "The chat buffer a command acts on, or a `user-error' if there is none."
  (or (chatd--target-buffer)
      (user-error "No chatd conversation here; M-x chatd-new starts one")))

;;; Client tools

(defconst chatd--tool-specs
  (vector
   (list :name "read_buffer"
         :description "The text of a buffer open in the editor, unsaved edits
included.  Without an argument, the buffer the user worked in last."
         :parameters '(:type "object"
                       :properties (:buffer (:type "string"
                                             :description "A buffer name or a file path")))
         :approval "auto")
   (list :name "list_workspace_files"
         :description "The files of the workspace (the project), relative to its root."
         :parameters '(:type "object")
         :approval "auto")
   (list :name "open_file"
         :description "Show a workspace file to the user at a line."
         :parameters '(:type "object"
                       :properties (:path (:type "string") :line (:type "integer"))
                       :required ["path"])
         :approval "ask"))
  "The tools Emacs hosts for the model, as `tools/register' specs.")

(defun chatd--tool-params (params workspace)
  "PARAMS with the client tools and WORKSPACE added."
  (append params
          (list :workspace workspace)
          (and chatd-client-tools (list :tools chatd--tool-specs))))

(defun chatd--register-tools ()
  "Host this buffer's client tools on the current connection if not yet.
After a daemon restart the conversation is resumed without them: the
tools of a connection end with it."
  (let ((connection (chatd--live-connection)))
    (when (and chatd-client-tools
               (not (eq chatd--tools-connection connection)))
      (setq chatd--tools-connection connection)
      (condition-case err
          (chatd--request 'tools/register (list :sessionId chatd--session-id
                                                :tools chatd--tool-specs))
        (user-error (message "chatd: no client tools: %s"
                             (error-message-string err)))))))

(defun chatd--workspace-of (directory)
  "The workspace of DIRECTORY: its project's root, else DIRECTORY."
  (directory-file-name
   (expand-file-name
    (if-let ((project (project-current nil directory)))
        (project-root project)
      directory))))

(defun chatd--tool-buffer (name workspace)
  "The buffer the read_buffer tool means by NAME, relative to WORKSPACE."
  (cond
   ((null name)
    (seq-find (lambda (buffer)
                (and (buffer-file-name buffer)
                     (not (eq (buffer-local-value 'major-mode buffer)
                              'chatd-chat-mode))))
              (buffer-list)))
   ((get-buffer name))
   ((find-buffer-visiting (expand-file-name name workspace)))))

(defun chatd--read-buffer-tool (arguments workspace)
  "Run the read_buffer tool with ARGUMENTS in WORKSPACE."
  (let* ((name (plist-get arguments :buffer))
         (buffer (chatd--tool-buffer name workspace)))
    (unless buffer
      (jsonrpc-error :code -32602
                     :message (format "no open buffer %s" (or name "at all"))))
    (with-current-buffer buffer
      (save-restriction
        (widen)
        (buffer-substring-no-properties (point-min) (point-max))))))

(defun chatd--list-files-tool (workspace)
  "Run the list_workspace_files tool in WORKSPACE."
  (let* ((project (project-current nil workspace))
         (files (if project
                    (project-files project)
                  (directory-files-recursively workspace "" nil))))
    (mapconcat (lambda (file) (file-relative-name file workspace))
               (seq-take (sort (seq-remove #'chatd--lock-file-p files) #'string<)
                         chatd-workspace-max-files)
               "\n")))

(defun chatd--lock-file-p (file)
  "Non-nil if FILE is Emacs's lock of a buffer being edited."
  (string-prefix-p ".#" (file-name-nondirectory file)))

(defun chatd--open-file-tool (arguments workspace)
  "Run the open_file tool with ARGUMENTS in WORKSPACE."
  (let* ((path (expand-file-name (plist-get arguments :path) workspace))
         (line (or (plist-get arguments :line) 1)))
    (unless (file-exists-p path)
      (jsonrpc-error :code -32602 :message (format "no file %s" path)))
    (with-current-buffer (find-file-noselect path)
      (goto-char (point-min))
      (forward-line (1- line))
      (display-buffer (current-buffer))
      (when-let ((window (get-buffer-window (current-buffer) 0)))
        (set-window-point window (point))))
    (format "opened %s at line %d" path line)))

(defun chatd--call-tool (params)
  "Answer `tool/call' PARAMS with the tool's result."
  (let* ((buffer (chatd--session-buffer (plist-get params :sessionId)))
         (workspace (or (and buffer (buffer-local-value 'chatd--workspace buffer))
                        default-directory))
         (arguments (plist-get params :arguments))
         (name (plist-get params :name)))
    (list :content
          (pcase name
            ("read_buffer" (chatd--read-buffer-tool arguments workspace))
            ("list_workspace_files" (chatd--list-files-tool workspace))
            ("open_file" (chatd--open-file-tool arguments workspace))
            (_ (jsonrpc-error :code -32601
                              :message (format "emacs has no tool %s" name))))
          :isError :json-false)))

(defun chatd--approve (connection id params)
  "Ask the user about the call in `tool/approve' PARAMS; answer ID on CONNECTION."
  (let ((decision "reject_once"))
    (unwind-protect
        (let ((choice (read-multiple-choice
                       (format "chatd: let the model call %s %s? "
                               (plist-get params :name)
                               (chatd--json-text (or (plist-get params :arguments)
                                                     (make-hash-table))))
                       '((?y "yes" "allow this call")
                         (?a "always" "allow it from now on in this workspace")
                         (?n "no" "reject this call")
                         (?r "never" "reject it from now on in this workspace")))))
          (setq decision (pcase (car choice)
                           (?y "allow_once") (?a "allow_always")
                           (?n "reject_once") (?r "reject_always"))))
      (when (jsonrpc-running-p connection)
        (jsonrpc-connection-send connection :id id
                                 :result (list :decision decision))))))

;;;###autoload
(defun chatd-tool-policies ()
  "Show which tools are always allowed or always rejected, per workspace."
  (interactive)
  (let ((policies (plist-get (chatd--request 'tools/policy/list) :policies)))
    (with-help-window "*chatd tool policies*"
      (if (seq-empty-p policies)
          (princ "No tool is always allowed or always rejected.\n")
        (seq-doseq (policy policies)
          (princ (format "%-14s %-22s %s\n"
                         (plist-get policy :decision)
                         (plist-get policy :tool)
                         (let ((workspace (plist-get policy :workspace)))
                           (if (string-empty-p workspace) "(no workspace)"
                             workspace)))))))))

;;; Commands

(defun chatd--read-provider-and-model ()
  "Ask for a provider among the available ones and a model, as a list."
  (chatd--live-connection)
  (let* ((available (seq-filter (lambda (provider)
                                  (eq (plist-get provider :available) t))
                                (plist-get chatd--capabilities :providers)))
         (names (mapcar (lambda (provider) (plist-get provider :name)) available))
         (provider (completing-read "Provider: " names nil t nil nil
                                    (plist-get chatd--capabilities
                                               :defaultProvider)))
         (model (read-string "Model (empty for the provider's default): ")))
    (list provider (unless (string-empty-p model) model))))

;;;###autoload
(defun chatd-new (&optional provider model)
  "Start a conversation in a new chat buffer and show it; return the buffer.
PROVIDER and MODEL default to the daemon's; with a prefix argument,
ask for them."
  (interactive (and current-prefix-arg (chatd--read-provider-and-model)))
  (let* ((workspace (chatd--workspace-of default-directory))
         (params (chatd--tool-params
                  (append (and provider (list :provider provider))
                          (and model (list :model model)))
                  workspace))
         (session (chatd--request 'chat/new params))
         (buffer (chatd--open-buffer "*chatd*" session)))
    (with-current-buffer buffer
      (setq chatd--workspace workspace
            default-directory (file-name-as-directory workspace)
            chatd--tools-connection chatd--connection))
    (pop-to-buffer buffer)
    buffer))

(defun chatd--send-in (buffer message)
  "Send MESSAGE in the conversation of the chat BUFFER."
  (with-current-buffer buffer
    (when chatd--turn
      (user-error "A turn is running; %s cancels it"
                  (substitute-command-keys "\\[chatd-cancel]")))
    (chatd--at-output
      (chatd--insert-heading "You" 'chatd-user-heading)
      (insert message)
      (chatd--insert-reply-heading))
    (setq chatd--turn t chatd--turn-output nil chatd--block nil
          chatd--state "running")
    (condition-case err
        (chatd--start-turn buffer message t)
      (error
       (chatd--turn-failed buffer (list :message (error-message-string err)))
       (signal (car err) (cdr err))))))

(defun chatd--daemon-lost-p (error)
  "Non-nil if the JSON-RPC ERROR plist means a lost daemon.
The connection died (code -1), whether the daemon was private or shared."
  (eql (plist-get error :code) -1))

(defun chatd--start-turn (buffer message retry)
  "Send MESSAGE as the turn of the chat BUFFER.
If RETRY and the daemon turns out to be gone before the turn showed
anything, send it once more to a new daemon: a daemon killed while idle
is only noticed then, and the lost turn was never saved."
  (with-current-buffer buffer
    (chatd--register-tools)
    (let ((params (list :sessionId chatd--session-id :message message)))
      (chatd--call
       (lambda (connection)
         (jsonrpc-async-request
          connection 'chat/send params
          :timeout nil
          :success-fn (lambda (result) (chatd--turn-ended buffer result))
          :error-fn
          (lambda (error)
            (if (and retry (chatd--daemon-lost-p error) (buffer-live-p buffer)
                     (not (buffer-local-value 'chatd--turn-output buffer)))
                (run-at-time 0 nil #'chatd--retry-turn buffer message)
              (chatd--turn-failed buffer error)))))))))

(defun chatd--retry-turn (buffer message)
  "Send MESSAGE as the turn of BUFFER again, to a new daemon."
  (condition-case err
      (chatd--start-turn buffer message nil)
    (error (chatd--turn-failed buffer (list :message (error-message-string err))))))

(defun chatd--turn-ended (buffer result)
  "Finish the turn of BUFFER with the `chat/send' RESULT."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (let ((stop (plist-get result :stopReason))
            (usage (plist-get result :usage)))
        (setq chatd--turn nil
              chatd--usage usage
              chatd--total-tokens (+ chatd--total-tokens
                                     (or (plist-get usage :inputTokens) 0)
                                     (or (plist-get usage :outputTokens) 0))
              chatd--state (if (equal stop "cancelled") "cancelled" "idle"))
        (chatd--at-output
          (unless (or chatd--block (string-empty-p (plist-get result :text)))
            (insert (plist-get result :text)))
          (unless (member stop '("end_turn" nil))
            (chatd--insert-notice stop))
          (when-let ((save-error (plist-get result :saveError)))
            (chatd--insert-notice
             (format "not saved: %s" (plist-get save-error :message)))))
        (force-mode-line-update)))))

(defun chatd--turn-failed (buffer error)
  "End the turn of BUFFER on the JSON-RPC ERROR plist."
  (when (buffer-live-p buffer)
    (with-current-buffer buffer
      (setq chatd--turn nil chatd--state "failed")
      (chatd--at-output
        (chatd--insert-notice
         (if (eql (plist-get error :code) -1)
             "the daemon stopped; the next command starts it again"
           (chatd--error-message error))))
      (force-mode-line-update))))

;;;###autoload
(defun chatd-send (message)
  "Send MESSAGE to the current conversation; the reply streams into its buffer.
The conversation is this chat buffer's, else the last chat buffer
used, else a new one.  Interactively, ask for MESSAGE."
  (interactive (list (read-string "Message: ")))
  (when (string-empty-p (string-trim message))
    (user-error "Nothing to send"))
  (let ((buffer (or (chatd--target-buffer)
                    (save-window-excursion (chatd-new)))))
    (chatd--send-in buffer message)
    (unless (get-buffer-window buffer 0)
      (display-buffer buffer))))

;;;###autoload
(defun chatd-send-region (start end)
  "Send the text between START and END to the current conversation."
  (interactive "r")
  (chatd-send (buffer-substring-no-properties start end)))

;;;###autoload
(defun chatd-cancel ()
  "Cancel the running turn of the current conversation."
  (interactive)
  (with-current-buffer (chatd--require-chat-buffer)
    (let ((result (chatd--request 'chat/cancel
                                  (list :sessionId chatd--session-id))))
      (unless (eq (plist-get result :cancelled) t)
        (message "chatd: no turn is running")))))

(defun chatd-toggle-thinking ()
  "Show or hide the model's thinking in this chat buffer."
  (interactive)
  (if (assq 'chatd-thinking buffer-invisibility-spec)
      (remove-from-invisibility-spec '(chatd-thinking . t))
    (add-to-invisibility-spec '(chatd-thinking . t)))
  (force-window-update (current-buffer)))

(defun chatd-load-older ()
  "Insert the next page of older messages at the top of this chat buffer."
  (interactive)
  (with-current-buffer (chatd--require-chat-buffer)
    (unless chatd--history-cursor
      (user-error "All the conversation is shown"))
    (let ((page (chatd--request 'chat/history
                                (list :sessionId chatd--session-id
                                      :cursor chatd--history-cursor
                                      :limit chatd-history-page-size))))
      (chatd--insert-history-page (plist-get page :items)
                                  (plist-get page :nextCursor)))))

(defun chatd--describe-saved (item)
  "A line naming the saved conversation ITEM of `store/list'."
  (format "%s  %s  [%s/%s]  %s"
          (format-time-string "%Y-%m-%d %H:%M"
                              (parse-iso8601-time-string
                               (plist-get item :updatedAt)))
          (let ((title (plist-get item :title)))
            (if (string-empty-p title) "(untitled)" title))
          (plist-get item :provider)
          (plist-get item :model)
          (substring (plist-get item :id) 0 8)))

(defun chatd--read-saved (prompt)
  "Ask with PROMPT for a saved conversation, newest first; return its id."
  (let* ((listing (chatd--request 'store/list (list :limit 200)))
         (problems (plist-get listing :problems))
         (choices (mapcar (lambda (item)
                            (cons (chatd--describe-saved item)
                                  (plist-get item :id)))
                          (plist-get listing :items))))
    (when (> (length problems) 0)
      (message "chatd: %d saved conversations cannot be read (chatd store list)"
               (length problems)))
    (unless choices
      (user-error "No saved conversations"))
    (cdr (assoc (completing-read
                 prompt
                 (lambda (string predicate action)
                   (if (eq action 'metadata)
                       '(metadata (display-sort-function . identity)
                                  (cycle-sort-function . identity))
                     (complete-with-action action choices string predicate)))
                 nil t)
                choices))))

;;;###autoload
(defun chatd-resume (id)
  "Open the saved conversation ID in a chat buffer and show its history.
Interactively, choose it from the saved conversations, newest first."
  (interactive (list (chatd--read-saved "Resume conversation: ")))
  (let ((buffer (chatd--session-buffer id)))
    (unless buffer
      (let* ((workspace (chatd--workspace-of default-directory))
             (session (chatd--restore id workspace)))
        (setq buffer (chatd--open-buffer
                      (format "*chatd: %s*" (plist-get session :title))
                      session))
        (with-current-buffer buffer
          (setq chatd--workspace workspace
                default-directory (file-name-as-directory workspace))
          (chatd--render session))))
    (pop-to-buffer buffer)
    buffer))

(defun chatd--restore (id workspace)
  "Restore the conversation ID with Emacs's tools for WORKSPACE; return it."
  (chatd--request 'chat/restore
                  (chatd--tool-params (list :snapshotId id
                                            :historyLimit chatd-history-page-size)
                                      workspace)))

(defun chatd--render (session)
  "Show SESSION, a `chat/restore' result, in this chat buffer afresh."
  (let ((inhibit-read-only t))
    (erase-buffer))
  (setq chatd--provider (plist-get session :provider)
        chatd--model (plist-get session :model)
        chatd--tools-connection chatd--connection
        chatd--state "idle")
  (chatd--insert-history-page (plist-get session :history)
                              (plist-get session :historyCursor))
  (seq-doseq (warning (plist-get session :warnings))
    (chatd--at-output (chatd--insert-notice warning))))

(defun chatd--revert (&rest _)
  "Show this chat buffer's conversation again as the daemon has it."
  (when chatd--turn
    (user-error "A turn is running"))
  (unless chatd--session-id
    (user-error "This conversation was deleted"))
  (chatd--render (chatd--restore chatd--session-id
                                 (or chatd--workspace
                                     (chatd--workspace-of default-directory)))))

(defun chatd--desktop-save (_directory)
  "Return the conversation id and workspace for `desktop-save-mode'."
  (list chatd--session-id chatd--workspace))

;;;###autoload
(defun chatd-desktop-restore (_file-name buffer-name misc)
  "Recreate the chat buffer BUFFER-NAME that `desktop-save-mode' saved.
MISC holds its conversation's id and workspace.  The daemon is asked
for the conversation only when the buffer is used, or by \\[revert-buffer]."
  (pcase-let* ((`(,id ,workspace) misc)
               (buffer (chatd--open-buffer buffer-name (list :sessionId id))))
    (with-current-buffer buffer
      (when workspace
        (setq chatd--workspace workspace
              default-directory (file-name-as-directory workspace)))
      (chatd--at-output
        (chatd--insert-notice
         (substitute-command-keys
          "\\<chatd-chat-mode-map>\\[revert-buffer] shows this conversation"))))
    buffer))

;;;###autoload
(add-to-list 'desktop-buffer-mode-handlers
             '(chatd-chat-mode . chatd-desktop-restore))

;;;###autoload
(defun chatd-delete (id)
  "Delete the saved conversation ID.
Interactively, it is this chat buffer's conversation, or one chosen
from the saved conversations; ask for confirmation first."
  (interactive
   (let ((id (if (and (derived-mode-p 'chatd-chat-mode) chatd--session-id)
                 chatd--session-id
               (chatd--read-saved "Delete conversation: "))))
     (unless (yes-or-no-p (format "Delete the conversation %s? " id))
       (user-error "Not deleted"))
     (list id)))
  (chatd--request 'store/delete (list :snapshotId id))
  (when-let ((buffer (chatd--session-buffer id)))
    (with-current-buffer buffer
      (setq chatd--session-id nil chatd--turn nil chatd--state "deleted")
      (chatd--at-output (chatd--insert-notice "deleted"))))
  (message "chatd: deleted %s" id))

(provide 'chatd)
;;; chatd.el ends here
