;;; chatd-test.el --- ERT tests of chatd.el against the real daemon -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by tests/editors/test_emacs.py:
;;   CHATD_TEST_PYTHON=.venv/bin/python emacs --batch -Q -L editors/emacs \
;;     -l tests/editors/emacs/chatd-test.el -f ert-run-tests-batch-and-exit
;; Each test starts its own daemon (`python -m chatd serve --stdio', the
;; echo provider) with its own config, store and socket.

;;; Code:

(require 'ert)
(require 'chatd)

(defvar chatd-test-python (or (getenv "CHATD_TEST_PYTHON") "python3")
  "The Python that runs the daemon.")

(defun chatd-test-wait (predicate &optional what)
  "Process the daemon's output until PREDICATE is non-nil; WHAT names it."
  (let ((deadline (+ (float-time) 60)))
    (while (not (funcall predicate))
      (when (> (float-time) deadline)
        (error "Gave up waiting for %s; buffers: %S" (or what predicate)
               (mapcar (lambda (buffer)
                         (with-current-buffer buffer (buffer-string)))
                       (chatd--chat-buffers))))
      (accept-process-output nil 0.05))))

(defun chatd-test-wait-turn (buffer)
  "Wait until the turn running in BUFFER ends."
  (chatd-test-wait (lambda () (not (buffer-local-value 'chatd--turn buffer)))
                   "the end of the turn"))

(defun chatd-test-text (buffer)
  "BUFFER's visible text."
  (with-current-buffer buffer
    (let ((text (buffer-string)))
      (mapconcat (lambda (char) (string char))
                 (seq-remove #'null
                             (seq-map-indexed
                              (lambda (char index)
                                (unless (invisible-p (1+ index)) char))
                              text))
                 ""))))

(defun chatd-test-contains (buffer text)
  "Non-nil if BUFFER shows TEXT."
  (string-search text (chatd-test-text buffer)))

(defun chatd-test-kill-daemon ()
  "Kill the daemon with SIGKILL and wait until Emacs has noticed."
  (let ((process (jsonrpc--process chatd--connection)))
    (signal-process (process-id process) 'SIGKILL)
    (chatd-test-wait (lambda () (not (process-live-p process))) "the daemon's death")
    (chatd-test-wait (lambda () (null chatd--connection)) "the sentinel")))

(defmacro chatd-test-with-daemon (environment &rest body)
  "Run BODY with `chatd-command' set to a private daemon in temporary dirs.
ENVIRONMENT adds \"NAME=VALUE\" strings to the daemon's environment."
  (declare (indent 1) (debug t))
  `(let* ((extra ,environment)
          (root (make-temp-file "chatd-el-" t))
          (config (expand-file-name "config.toml" root))
          (process-environment
           (append extra
                   (list (concat "CHATD_CONFIG=" config)
                         (concat "CHATD_STORE_DIR=" (expand-file-name "store" root))
                         (concat "CHATD_SOCKET=" (expand-file-name "s.sock" root)))
                   process-environment))
          (chatd-command (list chatd-test-python "-m" "chatd" "serve" "--stdio"))
          (chatd-environment nil))
     (write-region "" nil config)
     (unwind-protect
         (progn ,@body)
       (chatd-disconnect)
       (dolist (buffer (buffer-list))
         (when (eq (buffer-local-value 'major-mode buffer) 'chatd-chat-mode)
           (kill-buffer buffer)))
       (delete-directory root t))))

(defun chatd-test-send (buffer message)
  "Send MESSAGE from BUFFER and wait for the reply."
  (with-current-buffer buffer
    (chatd-send message))
  (chatd-test-wait-turn buffer))

(ert-deftest chatd-test-new-send-streams ()
  "A new chat gets its reply streamed, then shows provider, model and tokens."
  (chatd-test-with-daemon '("CHATD_ECHO_DELAY_MS=100")
    (let ((buffer (chatd-new)))
      (should (eq (buffer-local-value 'major-mode buffer) 'chatd-chat-mode))
      (should (equal (buffer-local-value 'chatd--provider buffer) "echo"))
      (with-current-buffer buffer (chatd-send "hello there"))
      (chatd-test-wait (lambda () (chatd-test-contains buffer "[1] "))
                       "the first delta")
      (should (buffer-local-value 'chatd--turn buffer))
      (should-not (chatd-test-contains buffer "[1] hello there"))
      (chatd-test-wait-turn buffer)
      (should (chatd-test-contains buffer "You\nhello there\n\necho-1\n[1] hello there"))
      (with-current-buffer buffer
        (should (equal chatd--state "idle"))
        (should (equal header-line-format '(:eval (chatd--header-line))))
        (let ((header (chatd--header-line)))
          (should (string-search "echo/echo-1" header))
          (should (string-search "tokens: 11 in, 15 out" header)))))))

(ert-deftest chatd-test-new-with-prefix-chooses-provider ()
  "With a prefix argument, `chatd-new' asks for the provider and the model."
  (chatd-test-with-daemon nil
    (let ((asked nil))
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt choices &rest _)
                   (setq asked choices)
                   "echo"))
                ((symbol-function 'read-string) (lambda (&rest _) "echo-custom")))
        (let* ((current-prefix-arg '(4))
               (buffer (call-interactively #'chatd-new)))
          (should (equal asked '("echo")))
          (should (equal (buffer-local-value 'chatd--model buffer) "echo-custom")))))))

(ert-deftest chatd-test-resume-after-kill ()
  "After `kill -9' of the daemon, a conversation resumes from the list."
  (chatd-test-with-daemon nil
    (let ((older (chatd-new)))
      (chatd-test-send older "older chat")
      (let ((buffer (chatd-new)))
        (chatd-test-send buffer "one")
        (chatd-test-send buffer "two")
        (chatd-test-kill-daemon)
        (kill-buffer buffer)
        (kill-buffer older)
        (let (offered)
          (cl-letf (((symbol-function 'completing-read)
                     (lambda (_prompt table &rest _)
                       (setq offered (all-completions "" table))
                       (car offered))))
            (setq buffer (call-interactively #'chatd-resume)))
          (should (= (length offered) 2))
          (should (string-search "  one  [echo/echo-1]" (car offered)))
          (should (string-search "  older chat  [echo/echo-1]" (cadr offered))))
        (should (chatd-test-contains buffer "You\none\n\necho-1\n[1] one"))
        (should (chatd-test-contains buffer "[2] two"))
        (chatd-test-send buffer "three")
        (should (chatd-test-contains buffer "You\nthree\n\necho-1\n[3] three"))))))

(ert-deftest chatd-test-same-buffer-after-idle-kill ()
  "The daemon killed while idle: the next send restarts it in the same buffer."
  (chatd-test-with-daemon nil
    (let ((buffer (chatd-new)))
      (chatd-test-send buffer "one")
      (chatd-test-kill-daemon)
      (chatd-test-send buffer "two")
      (should (chatd-test-contains buffer "[2] two")))))

(ert-deftest chatd-test-same-buffer-after-kill-mid-turn ()
  "The daemon killed mid-turn: the buffer says so, the next send goes on."
  (chatd-test-with-daemon '("CHATD_ECHO_DELAY_MS=300")
    (let ((buffer (chatd-new)))
      (chatd-test-send buffer "one")
      (with-current-buffer buffer (chatd-send "lost"))
      (chatd-test-wait (lambda () (chatd-test-contains buffer "[2] "))
                       "the first delta")
      (chatd-test-kill-daemon)
      (chatd-test-wait-turn buffer)
      (should (equal (buffer-local-value 'chatd--state buffer) "failed"))
      (should (chatd-test-contains buffer "[the daemon stopped"))
      (chatd-test-send buffer "two")
      (should (chatd-test-contains buffer "[2] two")))))

(ert-deftest chatd-test-cancel ()
  "`chatd-cancel' ends the running turn as cancelled, keeping the partial text."
  (chatd-test-with-daemon '("CHATD_ECHO_DELAY_MS=500")
    (let ((buffer (chatd-new)))
      (with-current-buffer buffer (chatd-send "a long answer please"))
      (chatd-test-wait (lambda () (chatd-test-contains buffer "[1] "))
                       "the first delta")
      (with-current-buffer buffer (chatd-cancel))
      (chatd-test-wait-turn buffer)
      (should (equal (buffer-local-value 'chatd--state buffer) "cancelled"))
      (should (chatd-test-contains buffer "[cancelled]"))
      (should-not (chatd-test-contains buffer "[1] a long answer please")))))

(ert-deftest chatd-test-delete ()
  "`chatd-delete' removes the conversation from the store."
  (chatd-test-with-daemon nil
    (let* ((buffer (chatd-new))
           (id (buffer-local-value 'chatd--session-id buffer)))
      (chatd-test-send buffer "to be deleted")
      (should (seq-find (lambda (item) (equal (plist-get item :id) id))
                        (plist-get (chatd--request 'store/list) :items)))
      (cl-letf (((symbol-function 'yes-or-no-p) (lambda (&rest _) t)))
        (with-current-buffer buffer (call-interactively #'chatd-delete)))
      (should (seq-empty-p (plist-get (chatd--request 'store/list) :items)))
      (should (chatd-test-contains buffer "[deleted]"))
      (should-not (buffer-local-value 'chatd--session-id buffer)))))

(ert-deftest chatd-test-history-pages ()
  "A resumed conversation shows its newest page and loads older ones."
  (chatd-test-with-daemon nil
    (let* ((buffer (chatd-new))
           (id (buffer-local-value 'chatd--session-id buffer))
           (chatd-history-page-size 2))
      (dolist (message '("one" "two" "three"))
        (chatd-test-send buffer message))
      (kill-buffer buffer)
      (setq buffer (chatd-resume id))
      (should (chatd-test-contains buffer "[older messages"))
      (should (chatd-test-contains buffer "[3] three"))
      (should-not (chatd-test-contains buffer "two"))
      (with-current-buffer buffer (chatd-load-older))
      (should (chatd-test-contains buffer "[older messages"))
      (should (chatd-test-contains buffer "You\ntwo\n\necho-1\n[2] two\n\nYou\nthree"))
      (should-not (chatd-test-contains buffer "one"))
      (with-current-buffer buffer (chatd-load-older))
      (should (string-prefix-p "You\none\n\necho-1\n[1] one\n\nYou\ntwo"
                               (chatd-test-text buffer)))
      (should (buffer-local-value 'chatd--output buffer))
      (chatd-test-send buffer "four")
      (should (string-suffix-p "echo-1\n[4] four" (chatd-test-text buffer))))))

(ert-deftest chatd-test-renders-thinking-and-tools ()
  "Thinking is folded away; tool calls and results are shown."
  (let ((buffer (chatd--open-buffer "*chatd-render*"
                                    '(:sessionId "s-1" :provider "p" :model "m"))))
    (unwind-protect
        (progn
          (dolist (update '((:kind "status" :state "running")
                            (:kind "thinking" :text "let me think")
                            (:kind "text" :text "Looking.")
                            (:kind "tool_call" :phase "start" :callId "c1" :name "read")
                            (:kind "tool_call" :phase "end" :callId "c1" :name "read"
                                   :arguments (:path "a.py"))
                            (:kind "tool_result" :callId "c1" :name "read"
                                   :content "print(1)" :isError :json-false)
                            (:kind "text" :text "Done.")))
            (chatd--handle-notification nil 'chat/update
                                        (append '(:sessionId "s-1") update)))
          (let ((shown (chatd-test-text buffer)))
            (should (string-search "▸ thinking\nLooking." shown))
            (should-not (string-search "let me think" shown))
            (should (string-search "⚙ read {\"path\":\"a.py\"}\n→ read: print(1)\nDone."
                                   shown)))
          (with-current-buffer buffer (chatd-toggle-thinking))
          (should (chatd-test-contains buffer "▸ thinking\nlet me think\nLooking.")))
      (kill-buffer buffer))))

(ert-deftest chatd-test-desktop-restore-and-revert ()
  "A chat buffer saved by `desktop-save-mode' comes back, loaded by `revert-buffer'."
  (chatd-test-with-daemon nil
    (let* ((buffer (chatd-new))
           (misc (progn (chatd-test-send buffer "one")
                        (with-current-buffer buffer
                          (funcall desktop-save-buffer default-directory)))))
      (should (eq (cdr (assq 'chatd-chat-mode desktop-buffer-mode-handlers))
                  'chatd-desktop-restore))
      (chatd-test-kill-daemon)
      (kill-buffer buffer)
      (setq buffer (chatd-desktop-restore nil "*chatd: one*" misc))
      (with-current-buffer buffer
        (should (string-search "(not loaded)" (chatd--header-line)))
        (should (equal chatd--workspace (cadr misc)))
        (revert-buffer)
        (should (string-search "echo/echo-1" (chatd--header-line))))
      (should (equal (chatd-test-text buffer) "You\none\n\necho-1\n[1] one"))
      (chatd-test-send buffer "two")
      (should (string-suffix-p "[1] one\n\nYou\ntwo\n\necho-1\n[2] two"
                               (chatd-test-text buffer))))))

;; Run by test_emacs.py when the daemon has `serve --stdio --shared'.
(ert-deftest chatd-test-shared-daemon-restart ()
  "Through the shared forwarder: the socket daemon killed idle and mid-turn."
  :tags '(shared)
  (chatd-test-with-daemon '("CHATD_ECHO_DELAY_MS=200")
    (let ((chatd-command (append chatd-command '("--shared")))
          (buffer nil))
      (unwind-protect
          (progn
            (setq buffer (chatd-new))
            (chatd-test-send buffer "one")
            (chatd-test-kill-shared-daemon)
            (chatd-test-send buffer "two")
            (should (chatd-test-contains buffer "[2] two"))
            (with-current-buffer buffer (chatd-send "lost"))
            (chatd-test-wait (lambda () (chatd-test-contains buffer "[3] "))
                             "the first delta")
            (chatd-test-kill-shared-daemon)
            (chatd-test-wait-turn buffer)
            (should (chatd-test-contains buffer "[the daemon stopped"))
            (chatd-test-send buffer "three")
            (should (string-suffix-p "[3] three" (chatd-test-text buffer))))
        (ignore-errors (chatd--request 'daemon/stop))))))

(defun chatd-test-kill-shared-daemon ()
  "Kill the socket daemon behind the forwarder with SIGKILL."
  (signal-process (plist-get (chatd--request 'daemon/status) :pid) 'SIGKILL))

;; Run by test_emacs.py with a fake Claude API scripted to call the tools:
;; turn 1 reads notes.txt and lists the files, then opens notes.txt at
;; line 2 (an `ask' tool); turn 2, after `kill -9' of the daemon, reads
;; the buffer again.  The test there checks what reached the model.
(ert-deftest chatd-test-client-tools ()
  "The model's calls of Emacs's tools reach Emacs and their answers reach it."
  :tags '(fake-model)
  (let ((config (getenv "CHATD_TEST_TOOLS_CONFIG"))
        (workspace (getenv "CHATD_TEST_WORKSPACE"))
        (asked nil))
    (skip-unless config)
    (chatd-test-with-daemon (list (concat "CHATD_CONFIG=" config))
      (let* ((default-directory (file-name-as-directory workspace))
             (notes (find-file-noselect "notes.txt")))
        (with-current-buffer notes
          (goto-char (point-max))
          (insert "unsaved edit\n"))
        (cl-letf (((symbol-function 'read-multiple-choice)
                   (lambda (prompt choices)
                     (push prompt asked)
                     (assq ?a choices))))
          (let ((buffer (chatd-new "claude")))
            (chatd-test-send buffer "look at my notes")
            (should (equal (buffer-local-value 'chatd--state buffer) "idle"))
            (should (= (length asked) 1))
            (should (string-search "open_file {\"path\":\"notes.txt\",\"line\":2}"
                                   (car asked)))
            (let ((shown (chatd-test-text buffer)))
              (should (string-search "▸ thinking\nLet me look." shown))
              (should-not (string-search "the user wants notes" shown))
              (should (string-search "⚙ read_buffer {\"buffer\":\"notes.txt\"}" shown))
              (should (string-search "→ read_buffer: line one\nline two\nunsaved edit"
                                     shown))
              (should (string-search "→ list_workspace_files: notes.txt" shown))
              (should (string-search "→ open_file: opened " shown))
              (should (string-suffix-p "Done." shown)))
            (let ((window (get-buffer-window notes)))
              (should window)
              (should (= (with-current-buffer notes
                           (line-number-at-pos (window-point window)))
                         2)))
            (chatd-tool-policies)
            (with-current-buffer "*chatd tool policies*"
              (should (string-search (format "allow_always   open_file              %s"
                                             (directory-file-name workspace))
                                     (buffer-string))))
            (chatd-test-kill-daemon)
            (chatd-test-send buffer "and again")
            (should (string-suffix-p "Still there." (chatd-test-text buffer)))))))))

(provide 'chatd-test)
;;; chatd-test.el ends here
