;;; chatd-screenshot.el --- Set up a chat buffer for the screenshot -*- lexical-binding: t; -*-

;;; Commentary:

;; Loaded by tests/editors/test_emacs.py into `emacs -nw' inside tmux,
;; with the daemon's isolated environment already set: it holds a short
;; conversation with the echo provider, shows the chat buffer alone,
;; then writes the file named by CHATD_SCREENSHOT_READY.  The test then
;; captures the terminal.

;;; Code:

(require 'chatd)

(defun chatd-screenshot-wait-turn (buffer)
  "Wait until the turn running in BUFFER ends."
  (let ((deadline (+ (float-time) 60)))
    (while (and (buffer-local-value 'chatd--turn buffer)
                (< (float-time) deadline))
      (accept-process-output nil 0.05))))

(defun chatd-screenshot-run ()
  "Hold the conversation, then signal that the frame is ready."
  (setq chatd-command
        (list (getenv "CHATD_TEST_PYTHON") "-m" "chatd" "serve" "--stdio"))
  (menu-bar-mode -1)
  ;; The screenshot renders the terminal with a dark background.
  (setq frame-background-mode 'dark)
  (mapc #'frame-set-background-mode (frame-list))
  (let ((buffer (chatd-new)))
    (dolist (message '("Summarise what chatd keeps between editor restarts."
                       "And when the daemon itself is killed?"))
      (with-current-buffer buffer (chatd-send message))
      (chatd-screenshot-wait-turn buffer))
    (chatd-disconnect)
    (delete-other-windows)
    (switch-to-buffer buffer)
    (goto-char (point-max))
    (message "")
    (redisplay t)
    (write-region "" nil (getenv "CHATD_SCREENSHOT_READY") nil (quote silent))))

(add-hook 'emacs-startup-hook #'chatd-screenshot-run)

(provide 'chatd-screenshot)
;;; chatd-screenshot.el ends here
